/**
 * An exact linear softmax classifier z = W·x + b with analytic gradients, for attack unit tests.
 * It is a real model under the Classifier contract (not a stub): ce, margin and dlr losses and their
 * gradients follow docs/ARCHITECTURE.md exactly, with argmax ties broken towards the first index.
 */
import type { Classifier, GradientResult, LossKind, PredictedGradient } from "../../model/classifier.ts";
import type { Manifest } from "../../model/manifest.ts";
import { createRng } from "../../../kernels/rng.ts";
import { checkLossClasses, DLR_DENOMINATOR_FLOOR, topThree } from "../../../kernels/loss.ts";
import { argmax } from "../../../kernels/softmax.ts";

export interface LinearSoftmaxOptions {
  /** [classes, channels·height·width], row-major. */
  weights: Float64Array;
  /** [classes]. */
  bias: Float64Array;
  channels: 1 | 3;
  height: number;
  width: number;
}

/** Per-call log of batch sizes, so tests can see which rows the attack still sends. */
export interface CallLog {
  logits: number[];
  gradient: number[];
}

export interface LinearSoftmax extends Classifier {
  readonly calls: CallLog;
  gradientAtPrediction(pixels: Float32Array, batch: number, loss: LossKind): Promise<PredictedGradient>;
}

function logitsOf(
  opts: LinearSoftmaxOptions,
  pixels: Float32Array,
  batch: number,
): Float64Array {
  const k = opts.bias.length;
  const d = opts.channels * opts.height * opts.width;
  if (pixels.length !== batch * d) {
    throw new RangeError(`expected ${batch * d} pixels, got ${pixels.length}`);
  }
  const z = new Float64Array(batch * k);
  for (let n = 0; n < batch; n++) {
    for (let j = 0; j < k; j++) {
      let s = opts.bias[j];
      for (let i = 0; i < d; i++) s += opts.weights[j * d + i] * pixels[n * d + i];
      z[n * k + j] = s;
    }
  }
  return z;
}

/** Builds the linear model; labels are "c0".."c{K-1}". */
export function createLinearSoftmax(opts: LinearSoftmaxOptions): LinearSoftmax {
  const k = opts.bias.length;
  const d = opts.channels * opts.height * opts.width;
  if (opts.weights.length !== k * d) throw new RangeError("weights must be [K, C·H·W]");
  const manifest: Manifest = {
    id: "linear-softmax",
    labels: Array.from({ length: k }, (_, j) => `c${j}`),
    input: {
      name: "pixels",
      layout: "NCHW",
      channels: opts.channels,
      height: opts.height,
      width: opts.width,
      scale: "unit",
      mean: new Array(opts.channels).fill(0),
      std: new Array(opts.channels).fill(1),
    },
    output: { name: "logits", kind: "logits" },
  };
  const calls: CallLog = { logits: [], gradient: [] };
  const model: LinearSoftmax = {
    manifest,
    sha256: "0".repeat(64),
    backend: "typescript",
    gradientMode: "exact",
    unsupportedOps: [],
    calls,
    logits(pixels: Float32Array, batch: number): Promise<Float32Array> {
      calls.logits.push(batch);
      return Promise.resolve(Float32Array.from(logitsOf(opts, pixels, batch)));
    },
    gradient(
      pixels: Float32Array,
      batch: number,
      labels: Int32Array,
      loss: LossKind,
    ): Promise<GradientResult> {
      calls.gradient.push(batch);
      try {
        checkLossClasses(loss, k);
      } catch (error) {
        return Promise.reject(error);
      }
      const z = logitsOf(opts, pixels, batch);
      const lossOut = new Float32Array(batch);
      const grad = new Float32Array(batch * d);
      // dz[j] = ∂loss/∂z_j; then ∂loss/∂x = Wᵀ·dz.
      const dz = new Float64Array(k);
      for (let n = 0; n < batch; n++) {
        const y = labels[n];
        const row = z.subarray(n * k, (n + 1) * k);
        dz.fill(0);
        if (loss === "ce") {
          let max = -Infinity;
          for (const v of row) max = Math.max(max, v);
          let sum = 0;
          for (const v of row) sum += Math.exp(v - max);
          lossOut[n] = -(row[y] - max - Math.log(sum));
          for (let j = 0; j < k; j++) dz[j] = Math.exp(row[j] - max) / sum;
          dz[y] -= 1;
        } else if (loss === "dlr") {
          // −N/D: ∂/∂z = (onehot(o) − onehot(y))/D + (onehot(π1) − onehot(π3))·N/D².
          const [p1, p2, p3] = topThree(row, 0, k);
          const other = p1 === y ? p2 : p1;
          const num = row[y] - row[other];
          const den = row[p1] - row[p3] + DLR_DENOMINATOR_FLOOR;
          lossOut[n] = -num / den;
          dz[other] += 1 / den;
          dz[y] -= 1 / den;
          dz[p1] += num / (den * den);
          dz[p3] -= num / (den * den);
        } else {
          let other = -1;
          for (let j = 0; j < k; j++) {
            if (j !== y && (other < 0 || row[j] > row[other])) other = j;
          }
          lossOut[n] = row[other] - row[y];
          dz[other] = 1;
          dz[y] = -1;
        }
        for (let i = 0; i < d; i++) {
          let s = 0;
          for (let j = 0; j < k; j++) s += opts.weights[j * d + i] * dz[j];
          grad[n * d + i] = s;
        }
      }
      return Promise.resolve({
        logits: Float32Array.from(z),
        loss: lossOut,
        grad,
        mode: "exact",
      });
    },
    // As a derived graph does it: the gradient at each row's own argmax, in one gradient call.
    async gradientAtPrediction(pixels: Float32Array, batch: number, loss: LossKind): Promise<PredictedGradient> {
      const labels = argmax(Float32Array.from(logitsOf(opts, pixels, batch)), { rows: batch, cols: k });
      return { ...await model.gradient(pixels, batch, labels, loss), labels };
    },
  };
  return model;
}

export interface RandomLinearOptions {
  seed: number;
  classes: number;
  channels: 1 | 3;
  height: number;
  width: number;
  /** Weights are uniform in [−scale, scale). */
  scale: number;
}

/** A linear model with seeded uniform weights and zero bias. */
export function randomLinearSoftmax(o: RandomLinearOptions): LinearSoftmax {
  const rng = createRng(o.seed);
  const d = o.channels * o.height * o.width;
  const weights = Float64Array.from(
    { length: o.classes * d },
    () => (2 * rng.next() - 1) * o.scale,
  );
  return createLinearSoftmax({
    weights,
    bias: new Float64Array(o.classes),
    channels: o.channels,
    height: o.height,
    width: o.width,
  });
}
