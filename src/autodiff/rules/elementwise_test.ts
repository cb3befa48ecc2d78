import { checkFixture } from "../testing.ts";

Deno.test("Add/Sub/Mul/Div with broadcasting between activations matches torch", () => checkFixture("broadcast_se"));
