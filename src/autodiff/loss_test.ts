/**
 * The derived graph's DLR loss against torch autograd (tools/dlr_fixtures.py): loss and input
 * gradient at every opset 9–21, with exactly tied logits, and through a probability output.
 */
import assert from "node:assert/strict";
import { TooFewClassesError } from "../../kernels/loss.ts";
import { LOSS_KINDS } from "../model/classifier.ts";
import { deriveGradientModel, type GradientSpec } from "./derive.ts";
import { FIXTURES, relMaxError, runGradientModel } from "./testing.ts";

interface DlrFixture {
  spec: GradientSpec;
  batch: number;
  opset: number;
  pixels: number[];
  labels: number[];
  expected: { dlr: { logits: number[]; loss: number[]; grad: number[] } };
}

async function checkDlr(name: string, opset?: number): Promise<void> {
  const f: DlrFixture = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)));
  if (opset !== undefined) assert.equal(f.opset, opset);
  const bytes = await Deno.readFile(new URL(`${name}.onnx`, FIXTURES));
  const { channels: c, height: h, width: w } = f.spec.input;
  const derived = deriveGradientModel(bytes, f.spec, { loss: "dlr", maxPool: "indices" });
  const got = await runGradientModel(derived.bytes, Float32Array.from(f.pixels), [f.batch, c, h, w], f.labels);
  for (const key of ["logits", "loss", "grad"] as const) {
    const e = relMaxError(got[key], f.expected.dlr[key]);
    assert.ok(e <= 1e-4, `${name} dlr ${key}: relative max error ${e.toExponential(2)}`);
  }
  assert.ok(f.expected.dlr.grad.some((v) => v !== 0), `${name}: reference gradient is identically zero`);
}

for (let opset = 9; opset <= 21; opset++) {
  Deno.test(`dlr loss (opset ${opset}): loss and gradient match torch`, () => checkDlr(`dlr_opset${opset}`, opset));
}

Deno.test("dlr loss: tied logits rank the higher class first, as torch.sort(stable=True)", () => checkDlr("dlr_ties"));

Deno.test("dlr loss: through log(max(p, 1e-30)) of a probability output", () => checkDlr("dlr_probs"));

Deno.test("dlr loss: a 2-class model is refused with TooFewClassesError", async () => {
  const bytes = await Deno.readFile(new URL("dlr_two_classes.onnx", FIXTURES));
  const spec: GradientSpec = {
    input: {
      name: "input",
      layout: "NCHW",
      channels: 3,
      height: 6,
      width: 6,
      scale: "unit",
      mean: [0, 0, 0],
      std: [1, 1, 1],
    },
    output: { name: "out", kind: "logits" },
  };
  assert.throws(() => deriveGradientModel(bytes, spec, { loss: "dlr", maxPool: "indices" }), TooFewClassesError);
  assert.doesNotThrow(() => deriveGradientModel(bytes, spec, { loss: "ce", maxPool: "indices" }));
});

Deno.test("losses in one graph: loss_kind picks a loss, and every output is bit-identical to that loss' own graph", async () => {
  // A whole network (Clip masks, depthwise and strided convolutions), tied MaxPool windows, a probability output,
  // tied logits.
  for (const name of ["mobilenet_v2_w035", "maxpool_tiles_ties", "dlr_probs", "dlr_ties"]) {
    const meta = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, FIXTURES)));
    const bytes = await Deno.readFile(new URL(`${name}.onnx`, FIXTURES));
    const pixels = meta.arrays
      ? new Float32Array((await Deno.readFile(new URL(`${name}.pixels.bin`, FIXTURES))).buffer)
      : Float32Array.from(meta.pixels);
    const { channels: c, height: h, width: w } = meta.spec.input;
    const dims = [meta.batch, c, h, w];
    // The first row at its own prediction (a negative label), the others at the fixture's labels.
    const labels = meta.labels.map((label: number, i: number) => (i === 0 ? -1 : label));
    const merged = deriveGradientModel(bytes, meta.spec, { loss: LOSS_KINDS, maxPool: "indices" });
    for (const [kind, loss] of LOSS_KINDS.entries()) {
      const own = deriveGradientModel(bytes, meta.spec, { loss, maxPool: "indices" });
      const expected = await runGradientModel(own.bytes, pixels, dims, labels);
      assert.ok(expected.grad.some((v) => v !== 0), `${name} ${loss}: the gradient vanishes`);
      assert.deepStrictEqual(
        await runGradientModel(merged.bytes, pixels, dims, labels, kind),
        expected,
        `${name} ${loss}`,
      );
    }
  }
});
