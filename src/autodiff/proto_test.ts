import assert from "node:assert/strict";
import { decodeModel, defaultOpset, encodeModel, toNumber } from "./proto.ts";
import { FIXTURES } from "./testing.ts";

const models = [...Deno.readDirSync(FIXTURES)].filter((e) => e.name.endsWith(".onnx")).map((e) => e.name).sort();

Deno.test("fixture models exist", () => assert.ok(models.length >= 10, `only ${models.length} models`));

for (const name of models) {
  Deno.test(`decode → encode is byte-identical and decode → encode → decode is lossless: ${name}`, () => {
    const bytes = Deno.readFileSync(new URL(name, FIXTURES));
    const model = decodeModel(bytes);
    const again = encodeModel(model);
    assert.deepEqual(again, bytes);
    const twice = decodeModel(again);
    assert.deepEqual(JSON.stringify(twice), JSON.stringify(model));
    assert.ok(model.graph && model.graph.node.length > 0);
    assert.ok(defaultOpset(model) >= 9);
    assert.ok(toNumber(model.ir_version) >= 3);
  });
}

Deno.test("encodeModel's bytes can be transferred to a Worker, however small the model", () => {
  for (const name of models) {
    const model = decodeModel(Deno.readFileSync(new URL(name, FIXTURES)));
    model.graph!.initializer = [];
    model.graph!.node = model.graph!.node.slice(0, 1);
    const small = encodeModel(model);
    assert.ok(small.byteLength < 4096, `${name}: ${small.byteLength} bytes`);
    const moved = structuredClone(small, { transfer: [small.buffer as ArrayBuffer] });
    assert.equal(small.byteLength, 0, "detached");
    assert.deepEqual(moved, encodeModel(model));
  }
});
