import { checkFixture } from "../testing.ts";

const MAXPOOL = ["maxpool_overlap_ceil", "maxpool_plain", "maxpool_dilated", "maxpool_ties", "tf_like_nhwc"];
for (const name of MAXPOOL) {
  for (const mode of ["indices", "mask"] as const) {
    Deno.test(`MaxPool gradient (${mode}) matches torch: ${name}`, () => checkFixture(name, mode));
  }
}
// Opset 9 has no scatter-add: overlapping windows must fall back to the mask formulation.
Deno.test("MaxPool gradient (indices requested) at opset 9", () => checkFixture("old_opset9", "indices"));

for (
  const name of [
    "avgpool_pad_incl",
    "avgpool_pad_excl_ceil",
    "avgpool_ceil_incl",
    "global_pools",
    "global_pools_opset9",
  ]
) {
  Deno.test(`AveragePool/global pool gradient matches torch: ${name}`, () => checkFixture(name));
}
