import assert from "node:assert/strict";
import { createLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import type { Classifier } from "../model/classifier.ts";
import { createRng } from "../../kernels/rng.ts";
import { calibrateWithSelection } from "./squeezer_selection.ts";
import type { Calibration, CalibrationStore } from "./store.ts";

const SIDE = 4;
const D = SIDE * SIDE;

/**
 * A two-class linear model z = (w·x, −w·x) on binary 4×4 images with ±0.005 noise, kept near the
 * boundary (|w·x| < 0.06: a pixel at 0 or 1 can move only one way) so that FGSM/PGD at ε = 0.1 flip them. 1-bit depth undoes both the noise
 * and any perturbation below 0.5 (squeezed clean ≈ clean, squeezed adversarial = the clean binary
 * image): a useful squeezer. 7-bit depth moves every pixel by < 1/254, clean or not: a useless one.
 */
function boundaryModel(count: number): { model: Classifier; images: Float32Array[]; labels: number[] } {
  const rng = createRng(7);
  const w = Float64Array.from({ length: D }, () => (rng.next() < 0.5 ? -1 : 1) * (0.05 + 0.1 * rng.next()));
  const model = createLinearSoftmax({
    weights: Float64Array.from([...w, ...w.map((v) => -v)]),
    bias: new Float64Array(2),
    channels: 1,
    height: SIDE,
    width: SIDE,
  });
  const images: Float32Array[] = [];
  const labels: number[] = [];
  while (images.length < count) {
    const x = Float32Array.from({ length: D }, () => {
      const bit = rng.next() < 0.5 ? 0 : 1;
      return Math.min(1, Math.max(0, bit + (rng.next() - 0.5) * 0.01));
    });
    const s = x.reduce((sum, v, j) => sum + v * w[j], 0);
    if (Math.abs(s) < 0.005 || Math.abs(s) > 0.06) continue;
    images.push(x);
    labels.push(s > 0 ? 0 : 1);
  }
  return { model, images, labels };
}

function memoryStore(): CalibrationStore & { saved: Calibration[] } {
  const saved: Calibration[] = [];
  return {
    saved,
    get: () => Promise.resolve(saved.at(-1) ?? null),
    set: (_id, _sha, c) => Promise.resolve(void saved.push(c)),
  };
}

const CANDIDATES = [{ kind: "bitDepth", bits: 7 }, { kind: "bitDepth", bits: 1 }] as const;

async function select(seed: number, count = 240, targetFpr = 0.1) {
  const { model, images, labels } = boundaryModel(count);
  const store = memoryStore();
  const result = await calibrateWithSelection({
    classifier: model,
    images,
    labels,
    dataSha256: "test",
    candidates: [...CANDIDATES],
    targetFpr,
    seed,
    store,
    now: new Date(0),
  });
  return { result, store };
}

Deno.test("selection: picks the useful squeezer over the useless one and reports it honestly", async () => {
  const { result, store } = await select(1);
  const report = result.selection;
  assert.deepEqual(report.chosen, ["bitDepth:1"]);
  assert.deepEqual(result.set, [{ kind: "bitDepth", bits: 1 }]);
  assert.deepEqual(store.saved, [result]);
  // Three sets from two candidates; the pair ties with bitDepth:1 alone and loses on size.
  assert.equal(report.search.sets, 3);
  const byName = new Map(report.candidates.map((c) => [c.squeezers.join("+"), c]));
  const useful = byName.get("bitDepth:1")!;
  const useless = byName.get("bitDepth:7")!;
  assert.ok(useful.detectionRate > 0.9, `bitDepth:1 detects ${useful.detectionRate}`);
  assert.ok(useless.detectionRate < useful.detectionRate - 0.3, `bitDepth:7 detects ${useless.detectionRate}`);
  assert.ok(report.heldOut.attacks.pgd.auc! > 0.95, `held-out PGD AUC ${report.heldOut.attacks.pgd.auc}`);
  assert.ok(report.counts.adversarial.heldOut.pgd > 50, "PGD flips most boundary images");

  // Held-out FPR within 3 binomial standard errors of the target.
  const n = report.counts.heldOut;
  const sigma = Math.sqrt(0.1 * 0.9 / n);
  assert.ok(Math.abs(report.heldOut.fpr - 0.1) <= 3 * sigma, `held-out FPR ${report.heldOut.fpr} on ${n}`);
  assert.equal(report.counts.selection + report.counts.heldOut, 240);
  // The baseline is the model's default grey set, scored on the same images.
  assert.deepEqual(report.baseline.squeezers, ["bitDepth:1", "median:2"]);
});

Deno.test("selection: the same seed gives the same report; another seed another split", async () => {
  const a = await select(5, 80);
  const b = await select(5, 80);
  assert.deepEqual(a.result, b.result);
  const c = await select(6, 80);
  assert.notDeepEqual(c.result.selection.heldOut, a.result.selection.heldOut);
});
