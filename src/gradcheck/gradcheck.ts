/**
 * Numerical check of a derived gradient model against the ORIGINAL model: for a few random
 * inputs x ∈ [0.1,0.9] and sparse random sign directions d (±1 on ~1% of the pixels, at least 4,
 * at most 64, so few ReLU/max kinks are crossed), compare ⟨∂loss/∂x, d⟩ (derived
 * model) with central differences (L(x + h·d) − L(x − h·d)) / 2h where L is the loss computed in
 * float64 from the original model's float32 outputs (preprocessing done here in JS). Margin loss
 * by default (piecewise linear in the logits, so no softmax saturation). Kinks (ReLU, max)
 * crossed within ±h bias large steps and float32 rounding biases small ones, so each direction
 * takes the best of h ∈ {1e-2, 1e-3, 1e-4}. Error = |fd − exact| / Σ|gᵢdᵢ| (normalised by the
 * absolute contributions, so cancellation inside ⟨g, d⟩ cannot blow it up; 1e-12 floor).
 * Also reports max |derived logits − original logits|, and — for inputs of at most
 * SPSA_COMPARE_MAX_SIZE values — the cosine between the exact gradient and the service's SPSA
 * estimate at its default budget on the first input (what a model without a rule would get).
 * It runs onnxruntime-web on the calling thread, synchronously for seconds on a large model: the server calls it in a
 * Worker (check_in_worker.ts); `cli inspect`, tests and tools call it directly.
 */
import * as ort from "onnxruntime-web";
import { rowLosses } from "../../kernels/loss.ts";
import { cosineSimilarity } from "../../kernels/norms.ts";
import { toModelInput } from "../../kernels/preprocess.ts";
import { createRng } from "../../kernels/rng.ts";
import { deriveGradientModel, type GradientSpec } from "../autodiff/derive.ts";
import type { LossKind } from "../model/classifier.ts";
import { spsaSamples } from "../model/gradient_cost.ts";
import { SPSA_DELTA, SPSA_MAX_BATCH_ROWS, spsaGradient } from "../runtime/spsa.ts";
import type { GradientCheck, GradientCheckOptions } from "./check_protocol.ts";

export type { GradientCheck, GradientCheckOptions } from "./check_protocol.ts";

/** Largest input (values) for which the SPSA comparison runs: it costs ~1.5·d forward passes. */
export const SPSA_COMPARE_MAX_SIZE = 16384;

ort.env.wasm.numThreads = 1;

/** Loss of one logits row in float64 (kernels/loss.ts). */
export function lossOf(z: ArrayLike<number>, label: number, kind: LossKind): number {
  return rowLosses(z, z.length, [label], kind)[0];
}

/** Derive the gradient model for `spec` and check it numerically (see module doc). */
export async function checkGradient(
  modelBytes: Uint8Array,
  spec: GradientSpec,
  opts: GradientCheckOptions = {},
): Promise<GradientCheck> {
  const { loss = "margin", inputs = 2, directions = 3, steps = [1e-2, 1e-3, 1e-4], tolerance = 5e-2, seed = 1 } = opts;
  const derived = opts.gradientModel
    ? { bytes: opts.gradientModel, buildMs: 0 }
    : deriveGradientModel(modelBytes, spec, { loss });
  const { channels: c, height: h, width: w, layout } = spec.input;
  const n = c * h * w;
  const dims = [1, c, h, w];
  // Errors only: onnxruntime warns about unused initializers of derived graphs, which is noise here.
  const session = await ort.InferenceSession.create(derived.bytes, { logSeverityLevel: 3 });
  const original = await ort.InferenceSession.create(modelBytes, { logSeverityLevel: 3 });
  const random = createRng(seed).next;
  let maxRelError = 0, logitsMaxAbsDiff = 0;
  let spsaCosine: number | null = null;
  try {
    const run = async (x: Float32Array, label: number) => {
      const out = await session.run({
        pixels: new ort.Tensor("float32", x, dims),
        labels: new ort.Tensor("int64", BigInt64Array.of(BigInt(label)), [1]),
      });
      return { logits: out.logits.data as Float32Array, grad: out.grad.data as Float32Array };
    };
    const originalLogits = async (x: Float32Array): Promise<number[]> => {
      const ref = await original.run({
        [spec.input.name]: new ort.Tensor(
          "float32",
          toModelInput(x, { n: 1, spec: { ...spec.input, channels: c as 1 | 3 } }),
          layout === "NHWC" ? [1, h, w, c] : dims,
        ),
      });
      const raw = ref[spec.output.name].data as Float32Array;
      return Array.from(raw, (v) => (spec.output.kind === "probabilities" ? Math.log(Math.max(v, 1e-30)) : v));
    };
    for (let k = 0; k < inputs; k++) {
      const x = Float32Array.from({ length: n }, () => 0.1 + 0.8 * random());
      const z0 = await originalLogits(x);
      const label = Math.floor(random() * z0.length);
      const at = await run(x, label);
      z0.forEach((v, i) => (logitsMaxAbsDiff = Math.max(logitsMaxAbsDiff, Math.abs(v - at.logits[i]))));
      if (k === 0 && n <= SPSA_COMPARE_MAX_SIZE) {
        // Row by row: the original model may have a fixed batch of 1.
        const forward = async (pixels: Float32Array, batch: number) => {
          const rows = [];
          for (let r = 0; r < batch; r++) rows.push(...await originalLogits(pixels.slice(r * n, (r + 1) * n)));
          return Float32Array.from(rows);
        };
        const options = { samples: spsaSamples(n), delta: SPSA_DELTA, maxBatchRows: SPSA_MAX_BATCH_ROWS, seed };
        const estimate = await spsaGradient(forward, x, 1, Int32Array.of(label), loss, options);
        spsaCosine = cosineSimilarity(estimate.grad, at.grad);
      }
      for (let j = 0; j < directions; j++) {
        const d = new Float32Array(n);
        const support = Math.min(64, Math.max(4, Math.round(n / 100)));
        for (let t = 0; t < support; t++) d[Math.floor(random() * n)] = random() < 0.5 ? -1 : 1;
        const exact = at.grad.reduce((acc, g, i) => acc + g * d[i], 0);
        const scale = Math.max(at.grad.reduce((acc, g, i) => acc + Math.abs(g * d[i]), 0), 1e-12);
        let best = Infinity;
        for (const step of steps) {
          const up = lossOf(await originalLogits(x.map((v, i) => v + step * d[i])), label, loss);
          const down = lossOf(await originalLogits(x.map((v, i) => v - step * d[i])), label, loss);
          const fd = (up - down) / (2 * step);
          best = Math.min(best, Math.abs(fd - exact) / scale);
        }
        maxRelError = Math.max(maxRelError, best);
      }
    }
  } finally {
    await session.release();
    await original.release();
  }
  return {
    mode: "exact",
    maxRelError,
    ok: maxRelError <= tolerance,
    logitsMaxAbsDiff,
    buildMs: derived.buildMs,
    spsaCosine,
  };
}
