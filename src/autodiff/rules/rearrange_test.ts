import { checkFixture } from "../testing.ts";

for (const [opset, name] of [[11, "depth_space_opset11"], [13, "depth_space"]] as const) {
  Deno.test(`DepthToSpace (DCR, CRD) and SpaceToDepth gradients match torch at opset ${opset}`, () =>
    checkFixture(name));
}
