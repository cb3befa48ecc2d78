import assert from "node:assert/strict";
import { deriveGradientModel } from "../derive.ts";
import { decodeModel } from "../proto.ts";
import { checkFixture, loadFixture } from "../testing.ts";

const MAXPOOL = ["maxpool_overlap_ceil", "maxpool_plain", "maxpool_dilated", "maxpool_ties", "tf_like_nhwc"];
for (const name of MAXPOOL) {
  for (const mode of ["indices", "mask"] as const) {
    Deno.test(`MaxPool gradient (${mode}) matches torch: ${name}`, () => checkFixture(name, mode));
  }
}
// The mask formulation's previous form (ArgMax of patch == max) picks the same elements.
for (const name of ["maxpool_ties", "maxpool_overlap_ceil", "maxpool_dilated"]) {
  Deno.test(`MaxPool gradient (mask, compare) matches torch: ${name}`, () =>
    checkFixture(name, "mask", 1e-4, { maskPool: "compare" }));
}
// Non-overlapping windows with Indices: one MaxUnpool (default) or zeros + ScatterElements.
for (const name of ["maxpool_plain", "maxpool_ties", "maxpool_tiles_ties", "maxpool_tiles_remainder"]) {
  for (const maxPoolSpread of ["unpool", "scatter"] as const) {
    Deno.test(`MaxPool gradient (indices, ${maxPoolSpread}) matches torch: ${name}`, () =>
      checkFixture(name, "indices", 1e-4, { tiledMaxPool: "generic", maxPoolSpread }));
  }
}
// A Relu read only by a MaxPool: its mask is applied to ∂y at the pooled size, in every formulation.
for (const name of ["relu_maxpool_tiles_ties", "relu_maxpool_overlap_ties", "relu_maxpool_ties_opset9"]) {
  for (const mode of ["indices", "mask"] as const) {
    for (const tiledMaxPool of ["tiles", "priority", "generic"] as const) {
      Deno.test(`Relu → MaxPool gradient (${mode}, ${tiledMaxPool}) matches torch: ${name}`, () =>
        checkFixture(name, mode, 1e-4, { tiledMaxPool }));
    }
  }
}

Deno.test("a Relu read only by a MaxPool gets no full-size mask; the pooled max is compared instead", () => {
  const f = loadFixture("relu_maxpool_tiles_ties");
  const source = decodeModel(f.bytes).graph!;
  const relu = source.node.find((n) => n.op_type === "Relu")!.output[0];
  const pool = source.node.find((n) => n.op_type === "MaxPool")!.output[0];
  const graph = decodeModel(deriveGradientModel(f.bytes, f.spec, { loss: "ce" }).bytes).graph!;
  const greater = graph.node.filter((n) => n.op_type === "Greater");
  assert.deepEqual(greater.map((n) => n.input[0]), [pool]);
  assert.ok(!graph.node.some((n) => n.op_type === "Where" && n.input.includes(relu)));
  // The windows tie at positive values (not only at zero), so the first-maximum rule is exercised.
  assert.ok(f.pixels.some((v, i) => i % 2 === 0 && v > 0 && v === f.pixels[i + 1]));
});

// Opset 9 has no scatter-add: overlapping windows must fall back to the mask formulation.
Deno.test("MaxPool gradient (indices requested) at opset 9", () => checkFixture("old_opset9", "indices"));

// Windows that tile the input: SpaceToDepth + ArgMax (default) and the general formulations.
const TILED = ["maxpool_tiles_ties", "maxpool_tiles_ties_opset9", "maxpool_tiles_remainder", "maxpool_plain"];
for (const name of TILED) {
  for (const mode of ["indices", "mask"] as const) {
    for (const tiledMaxPool of ["tiles", "priority", "generic"] as const) {
      Deno.test(`MaxPool gradient (${mode}, ${tiledMaxPool}) matches torch: ${name}`, () =>
        checkFixture(name, mode, 1e-4, { tiledMaxPool }));
    }
  }
}

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
for (const tiledAveragePool of ["tiles", "generic"] as const) {
  Deno.test(`AveragePool gradient (${tiledAveragePool}) matches torch: avgpool_tiles`, () =>
    checkFixture("avgpool_tiles", "indices", 1e-4, { tiledAveragePool }));
}

function opTypes(name: string, tiled: "tiles" | "generic", maxPoolSpread?: "unpool" | "scatter"): string[] {
  const f = loadFixture(name);
  const derived = deriveGradientModel(f.bytes, f.spec, {
    loss: "ce",
    formulations: { tiledMaxPool: tiled, tiledAveragePool: tiled, ...(maxPoolSpread ? { maxPoolSpread } : {}) },
  });
  return decodeModel(derived.bytes).graph!.node.map((n) => n.op_type ?? "");
}

Deno.test("square tiled pools need no Indices, scatter or ConvTranspose; the generic formulation does", () => {
  const count = (ops: string[], op: string) => ops.filter((o) => o === op).length;
  const tiles = opTypes("maxpool_tiles_ties", "tiles");
  for (const op of ["ScatterElements", "Scatter", "ConvTranspose"]) assert.equal(count(tiles, op), 0, op);
  assert.equal(count(opTypes("maxpool_tiles_ties", "generic"), "MaxUnpool"), 1);
  assert.equal(count(opTypes("maxpool_tiles_ties", "generic", "scatter"), "ScatterElements"), 1);
  assert.equal(count(opTypes("maxpool_tiles_ties", "generic", "scatter"), "MaxUnpool"), 0);
  // avgpool_tiles: 2×2/2 and 1×1/1 tile; the (2,1) window is not square and keeps ConvTranspose.
  assert.equal(count(opTypes("avgpool_tiles", "tiles"), "ConvTranspose"), 1);
  assert.equal(count(opTypes("avgpool_tiles", "generic"), "ConvTranspose"), 3);
  const f = loadFixture("maxpool_tiles_ties");
  const graph = decodeModel(deriveGradientModel(f.bytes, f.spec, { loss: "ce" }).bytes).graph!;
  assert.ok(graph.node.filter((n) => n.op_type === "MaxPool").every((n) => n.output.length === 1));
});

Deno.test("maxpool_tiles_ties really has windows with several equal maxima", () => {
  const f = loadFixture("maxpool_tiles_ties");
  let tiedWindows = 0;
  for (let img = 0; img < f.batch; img++) {
    for (let i = 0; i < 8; i += 2) {
      for (let j = 0; j < 8; j += 2) {
        const at = (a: number, b: number) => f.pixels[img * 64 + (i + a) * 8 + j + b];
        const win = [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
        const max = Math.max(...win);
        if (win.filter((v) => v === max).length > 1) tiedWindows++;
      }
    }
  }
  assert.ok(tiedWindows >= 8, `${tiedWindows} tied windows`);
});
