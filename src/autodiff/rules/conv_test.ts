import { checkFixture } from "../testing.ts";

for (const name of ["conv_basic", "conv_strided_odd", "conv_asym", "conv_depthwise", "autopad_variants"]) {
  Deno.test(`Conv gradient matches torch: ${name}`, () => checkFixture(name));
}
