import assert from "node:assert/strict";
import { argmax } from "../../kernels/softmax.ts";
import { makeNode, valueInfo } from "./graph.ts";
import { deriveGradientModel, findUnsupportedOps, inspectModel, NotDifferentiableError } from "./mod.ts";
import { DataType, decodeModel, encodeModel, type ModelProto, toNumber } from "./proto.ts";
import { makeTensor } from "./tensor.ts";
import { loadFixture, relMaxError, runGradientModel } from "./testing.ts";
import type { GradientSpec } from "./derive.ts";

const SPEC: GradientSpec = {
  input: { name: "x", layout: "NCHW", channels: 1, height: 2, width: 2, scale: "unit", mean: [0], std: [1] },
  output: { name: "y", kind: "logits" },
};

/** x [N,1,2,2] → nodes → y [N,2]. */
function tinyModel(
  nodes: ReturnType<typeof makeNode>[],
  opts: { inType?: number; valueInfo?: ReturnType<typeof valueInfo>[] } = {},
): Uint8Array {
  const model = {
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    graph: {
      name: "tiny",
      node: nodes,
      initializer: [
        makeTensor("shape2", DataType.INT64, [2], [0, -1]),
        makeTensor("W", DataType.FLOAT, [4, 2], [1, 2, 3, 4, 5, 6, 7, 8]),
      ],
      input: [valueInfo("x", opts.inType ?? DataType.FLOAT, ["N", 1, 2, 2])],
      output: [valueInfo("y", DataType.FLOAT, ["N", 2])],
      value_info: opts.valueInfo ?? [],
    },
  } as unknown as ModelProto;
  return encodeModel(model);
}

const flatten = makeNode("Reshape", ["x", "shape2"], ["flat"]);
const head = (input: string) => makeNode("MatMul", [input, "W"], ["y"]);

Deno.test("unsupported ops on the pixel path are reported by type and node name", () => {
  const bytes = tinyModel([
    flatten,
    makeNode("Sin", ["flat"], ["e"], {}, "sin_1"),
    { ...makeNode("Foo", ["e"], ["f"], {}, "custom_1"), domain: "com.example" },
    head("f"),
  ]);
  assert.throws(() => deriveGradientModel(bytes, SPEC, { loss: "ce" }), (e: unknown) => {
    assert.ok(e instanceof NotDifferentiableError);
    assert.deepEqual(e.opTypes, ["Foo", "Sin"]);
    assert.deepEqual(e.nodes.map((n) => n.nodeName).sort(), ["custom_1", "sin_1"]);
    return true;
  });
  assert.deepEqual(findUnsupportedOps(bytes, SPEC).map((n) => n.opType).sort(), ["Foo", "Sin"]);
  const info = inspectModel(bytes, SPEC);
  assert.deepEqual(info.unsupported, ["Foo", "Sin"]);
  assert.deepEqual(info.ops, { Reshape: 1, Sin: 1, "com.example.Foo": 1, MatMul: 1 });
  assert.equal(info.opset, 17);
  assert.deepEqual(info.inputs, [{ name: "x", dims: ["N", 1, 2, 2], elemType: DataType.FLOAT }]);
});

Deno.test("control flow is rejected; unsupported ops off the pixel path are not", () => {
  const branch = {
    name: "b",
    node: [],
    initializer: [],
    input: [],
    output: [valueInfo("flat", DataType.FLOAT, ["N", 4])],
  };
  const ifNode = makeNode("If", ["cond"], ["g"], {}, "if_1");
  ifNode.attribute.push(
    { name: "then_branch", type: 5, g: branch } as never,
    { name: "else_branch", type: 5, g: branch } as never,
  );
  const withIf = tinyModel([
    flatten,
    makeNode("ReduceSum", ["flat"], ["s"], { keepdims: { i: 0 } }),
    makeNode("Cast", ["s"], ["cond"], { to: { i: DataType.BOOL } }),
    ifNode,
    head("g"),
  ]);
  assert.deepEqual(findUnsupportedOps(withIf, SPEC).map((n) => `${n.opType}:${n.nodeName}`), ["If:if_1"]);
  // Sin applied to a constant only: not on the pixel path, so fine.
  const offPath = tinyModel([
    flatten,
    makeNode("Sin", ["W"], ["We"], {}, "sin_const"),
    makeNode("MatMul", ["flat", "We"], ["y"]),
  ], { valueInfo: [valueInfo("We", DataType.FLOAT, [4, 2])] });
  assert.deepEqual(findUnsupportedOps(offPath, SPEC), []);
});

Deno.test("non-float model input is rejected", () => {
  const bytes = tinyModel([
    makeNode("Cast", ["x"], ["xf"], { to: { i: DataType.FLOAT } }),
    makeNode("Reshape", ["xf", "shape2"], ["flat"]),
    head("flat"),
  ], {
    inType: DataType.UINT8,
  });
  assert.throws(() => deriveGradientModel(bytes, SPEC, { loss: "ce" }), (e: unknown) => {
    return e instanceof NotDifferentiableError && e.opTypes[0] === "input";
  });
});

Deno.test("derived model keeps the opset, the dynamic batch and the contract's names", () => {
  const f = loadFixture("maxpool_plain");
  for (const maxPool of ["indices", "mask"] as const) {
    // Tiled 2×2 windows would skip Indices in both modes (rules/formulations.ts).
    const out = deriveGradientModel(f.bytes, f.spec, {
      loss: "ce",
      maxPool,
      formulations: { tiledMaxPool: "generic" },
    });
    const m = decodeModel(out.bytes);
    assert.equal(out.opset, f.opset);
    assert.deepEqual(m.opset_import.map((o) => [o.domain ?? "", toNumber(o.version)]), [["", f.opset]]);
    assert.deepEqual(m.graph!.input.map((v) => v.name), ["pixels", "labels"]);
    assert.deepEqual(m.graph!.output.map((v) => v.name), ["logits", "loss", "grad", "labels_used"]);
    assert.equal(m.graph!.input[0].type!.tensor_type!.shape!.dim[0].dim_param, "N");
    assert.ok(m.graph!.node.every((n) => !n.domain));
    const pools = m.graph!.node.filter((n) => n.op_type === "MaxPool");
    const withIndices = pools.filter((n) => n.output.length > 1 && n.output[1] !== "");
    assert.equal(withIndices.length, maxPool === "indices" ? 1 : 0);
  }
});

Deno.test("batched rows get their own labels and gradients", async () => {
  const f = loadFixture("bn_relu");
  const { channels: c, height: h, width: w } = f.spec.input;
  const derived = deriveGradientModel(f.bytes, f.spec, { loss: "margin" });
  const size = c * h * w;
  const both = await runGradientModel(derived.bytes, f.pixels, [2, c, h, w], f.labels);
  for (let row = 0; row < 2; row++) {
    const one = await runGradientModel(derived.bytes, f.pixels.slice(row * size, (row + 1) * size), [1, c, h, w], [
      f.labels[row],
    ]);
    assert.ok(relMaxError(one.grad, both.grad.slice(row * size, (row + 1) * size)) < 1e-6);
    assert.ok(Math.abs(one.loss[0] - both.loss[row]) < 1e-5);
  }
  assert.ok(relMaxError(both.grad.slice(0, size), both.grad.slice(size)) > 1e-3, "rows should differ");
});

Deno.test("a negative label is the row's own prediction (first max), for every loss", async () => {
  const f = loadFixture("bn_relu");
  const { channels: c, height: h, width: w } = f.spec.input;
  for (const loss of ["ce", "margin", "dlr"] as const) {
    const derived = deriveGradientModel(f.bytes, f.spec, { loss });
    const given = await runGradientModel(derived.bytes, f.pixels, [2, c, h, w], f.labels);
    assert.deepEqual(given.labelsUsed, [...f.labels]);
    const classes = given.logits.length / 2;
    const predicted = argmax(given.logits, { rows: 2, cols: classes });
    const atPrediction = await runGradientModel(derived.bytes, f.pixels, [2, c, h, w], [-1, f.labels[1]]);
    assert.deepEqual(atPrediction.labelsUsed, [predicted[0], f.labels[1]]);
    const explicit = await runGradientModel(derived.bytes, f.pixels, [2, c, h, w], [predicted[0], f.labels[1]]);
    assert.deepEqual(atPrediction.grad, explicit.grad, loss);
    assert.deepEqual(atPrediction.loss, explicit.loss, loss);
  }
});

Deno.test("a rule that rejects its node while building the backward gives the typed error listing every such node", () => {
  // Diagonals (a repeated index within one term) have no Einsum gradient rule.
  const bytes = tinyModel([
    makeNode("Einsum", ["x"], ["d1"], { equation: { s: "bcii->bci" } }, "einsum_1"),
    makeNode("Einsum", ["x"], ["d2"], { equation: { s: "b c j j -> b c j" } }, "einsum_2"),
    makeNode("Concat", ["d1", "d2"], ["cat"], { axis: { i: 2 } }),
    makeNode("Reshape", ["cat", "shape2"], ["flat"]),
    head("flat"),
  ]);
  assert.throws(() => deriveGradientModel(bytes, SPEC, { loss: "ce" }), (e: unknown) => {
    assert.ok(e instanceof NotDifferentiableError);
    assert.deepEqual(e.opTypes, ["Einsum"]);
    assert.deepEqual(e.nodes.map((n) => n.nodeName).sort(), ["einsum_1", "einsum_2"]);
    assert.ok(e.nodes.every((n) => /repeated index/.test(n.reason)), e.message);
    return true;
  });
  assert.equal(findUnsupportedOps(bytes, SPEC).length, 2);
  assert.deepEqual(inspectModel(bytes, SPEC).unsupported, ["Einsum"]);
});
