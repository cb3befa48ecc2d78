import { checkFixture } from "../testing.ts";

for (const opset of [11, 13]) {
  Deno.test(`CumSum gradient matches torch at opset ${opset}`, () => checkFixture(`cumsum_opset${opset}`));
}
