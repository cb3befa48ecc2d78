import assert from "node:assert/strict";
import { makeNode } from "../graph.ts";
import { DataType } from "../proto.ts";
import type { Const } from "./array.ts";
import { evaluateNode } from "./index.ts";

const I64 = DataType.INT64, F32 = DataType.FLOAT;
const t = (dims: number[], data: number[], elemType: number = I64): Const => ({ dims, data, elemType });
const run = (op: string, inputs: (Const | undefined)[], attrs = {}, opset = 13, outputs = 1) =>
  evaluateNode(
    makeNode(op, inputs.map((_, i) => `in${i}`), Array.from({ length: outputs }, (_, i) => `o${i}`), attrs),
    opset,
    inputs,
  );

Deno.test("Mod follows the divisor's sign (fmod=0) or the dividend's (fmod=1), like onnxruntime", () => {
  const a = t([4], [-7, 7, -7, 7]), b = t([4], [3, 3, -3, -3]);
  assert.deepEqual(run("Mod", [a, b])![0].data, [2, 1, -1, -2]);
  assert.deepEqual(run("Mod", [a, b], { fmod: { i: 1 } })![0].data, [-1, 1, -1, 1]);
});

Deno.test("integer Div truncates; float arithmetic rounds to float32", () => {
  assert.deepEqual(run("Div", [t([2], [-7, 7]), t([], [2])])![0].data, [-3, 3]);
  assert.deepEqual(run("Add", [t([1], [0.1], F32), t([1], [0.2], F32)])![0].data, [Math.fround(0.1 + 0.2)]);
});

Deno.test("Slice with negative and large steps at opset 13, attribute form at 9", () => {
  const x = t([10], Array.from({ length: 10 }, (_, i) => i));
  const big = -(2 ** 63);
  assert.deepEqual(run("Slice", [x, t([1], [-1]), t([1], [big]), t([1], [0]), t([1], [-3])])![0].data, [9, 6, 3, 0]);
  assert.deepEqual(run("Slice", [x, t([1], [1]), t([1], [100]), undefined, t([1], [4])])![0].data, [1, 5, 9]);
  const m = t([2, 3], [1, 2, 3, 4, 5, 6]);
  const old = run("Slice", [m], { starts: { ints: [1] }, ends: { ints: [3] }, axes: { ints: [1] } }, 9)![0];
  assert.deepEqual([old.dims, old.data], [[2, 2], [2, 3, 5, 6]]);
});

Deno.test("ScatterND writes rows; Range, Where and Concat build Swin-style masks", () => {
  const zeros = t([2, 3], [0, 0, 0, 0, 0, 0], F32);
  const out = run("ScatterND", [zeros, t([1, 1], [1]), t([1, 3], [7, 8, 9], F32)])![0];
  assert.deepEqual(out.data, [0, 0, 0, 7, 8, 9]);
  assert.deepEqual(run("Range", [t([], [0]), t([], [10]), t([], [3])])![0].data, [0, 3, 6, 9]);
  const mask = run("Where", [t([2, 1], [1, 0], DataType.BOOL), t([], [-100], F32), t([1, 2], [0, 5], F32)])![0];
  assert.deepEqual([mask.dims, mask.data], [[2, 2], [-100, -100, 0, 5]]);
  const cat = run("Concat", [t([2, 1], [1, 2]), t([2, 2], [3, 4, 5, 6])], { axis: { i: 1 } })![0];
  assert.deepEqual([cat.dims, cat.data], [[2, 3], [1, 3, 4, 2, 5, 6]]);
});

Deno.test("Gather with 2-D indices, Transpose, Unsqueeze (attribute at 11, input at 13)", () => {
  const x = t([2, 3], [1, 2, 3, 4, 5, 6]);
  const g = run("Gather", [x, t([2, 2], [2, 0, -1, 1])], { axis: { i: 1 } })![0];
  assert.deepEqual([g.dims, g.data], [[2, 2, 2], [3, 1, 3, 2, 6, 4, 6, 5]]);
  const tr = run("Transpose", [x], { perm: { ints: [1, 0] } })![0];
  assert.deepEqual([tr.dims, tr.data], [[3, 2], [1, 4, 2, 5, 3, 6]]);
  assert.deepEqual(run("Unsqueeze", [x], { axes: { ints: [0] } }, 11)![0].dims, [1, 2, 3]);
  assert.deepEqual(run("Unsqueeze", [x, t([1], [-1])], {}, 13)![0].dims, [2, 3, 1]);
});

Deno.test("ReduceSum axes: attribute before opset 13, input from 13; ReduceMax's before 18", () => {
  const x = t([2, 2], [1, 5, 3, 2]);
  assert.deepEqual(run("ReduceSum", [x], { axes: { ints: [1] }, keepdims: { i: 0 } }, 11)![0].data, [6, 5]);
  assert.deepEqual(run("ReduceSum", [x, t([1], [0])], { keepdims: { i: 0 } }, 13)![0].data, [4, 7]);
  assert.deepEqual(run("ReduceMax", [x], { axes: { ints: [0] } }, 17)![0].data, [3, 5]);
});

Deno.test("unknown ops and unsupported element types are left to the runtime", () => {
  assert.equal(run("Sin", [t([1], [1], F32)]), undefined);
  assert.equal(run("Add", [t([1], [1], DataType.FLOAT16), t([1], [1], DataType.FLOAT16)]), undefined);
});

Deno.test("results above the constant limit are not evaluated (ConstantOfShape, Range, Expand)", () => {
  assert.equal(run("ConstantOfShape", [t([4], [1, 64, 224, 224])]), undefined);
  assert.equal(run("Range", [t([], [0]), t([], [1e9]), t([], [1])]), undefined);
  assert.equal(run("Expand", [t([1], [1]), t([3], [1000, 1000, 1000])]), undefined);
});
