import { checkFixture } from "../testing.ts";

Deno.test("DepthToSpace (DCR, CRD) and SpaceToDepth gradients match torch", () => checkFixture("depth_space"));
