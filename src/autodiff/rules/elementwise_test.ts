import { checkFixture } from "../testing.ts";

Deno.test("Add/Sub/Mul/Div with broadcasting between activations matches torch", () => checkFixture("broadcast_se"));

// Opset 9: no float Equal, the tie mask is built from Less/Greater/Not.
for (const [opset, name] of [[9, "minmax_variadic_opset9"], [13, "minmax_variadic"]] as const) {
  Deno.test(`variadic Max/Min/Sum/Mean with broadcasting match torch at opset ${opset}`, () => checkFixture(name));
}
