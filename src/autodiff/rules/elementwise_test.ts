import { checkFixture } from "../testing.ts";

Deno.test("Add/Sub/Mul/Div with broadcasting between activations matches torch", () => checkFixture("broadcast_se"));

Deno.test("variadic Max/Min/Sum/Mean with broadcasting match torch", () => checkFixture("minmax_variadic"));
