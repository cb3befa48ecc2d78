/**
 * APGD (Auto-PGD; Croce & Hein, ICML 2020, "Reliable evaluation of adversarial robustness with an
 * ensemble of diverse parameter-free attacks", Algorithm 1), untargeted, with the CE loss
 * (APGD-CE) or the DLR loss (APGD-DLR): the white-box core of AutoAttack.
 *
 * Conventions (an independent implementation must match these; tools/apgd_reference.py does):
 * - rows: image i, restart r is row i·restarts + r; all restarts of all images run as one batch,
 *   and an image's rows leave the batch at its first adversarial iterate;
 * - the clean images are classified first (one forward pass); a misclassified one is reported as
 *   a success at iteration 0 with the clean pixels (restart 0) and is not attacked (AutoAttack);
 * - x^(0) is a random point on the ε-sphere (norm strategy's `boundaryStart`: L∞ ε·t/max|t|,
 *   t uniform in [−1,1)^d; L2 ε·z/‖z‖₂, z normal), clipped to [0,1], drawn from `createRng(seed)`
 *   in row order for every row (so a row's start does not depend on the other images) — every
 *   restart starts randomly, as in AutoAttack;
 * - f(x) = the loss of the true label, computed in float64 from the logits of every evaluated
 *   iterate (kernels/loss.ts); the ascent direction is the classifier's ∇f (derived graph or SPSA);
 * - step size η = 2ε per row at first; step(g) = sign(g) (L∞, sign(0) = 0) or g / max(‖g‖₂, 1e-12)
 *   (L2); P = projection onto the ε-ball around the clean image, then clip to [0,1] (norms.ts);
 * - x^(1) = P(x^(0) + η·step(∇f(x^(0)))) (no momentum on the first step); for k ≥ 1
 *   z = P(x^(k) + η·step(∇f(x^(k)))) and x^(k+1) = P(x^(k) + α(z − x^(k)) + (1 − α)(x^(k) − x^(k−1)))
 *   with α = 0.75. Rounding: η·step rounded to float32 and added in float32; the momentum
 *   combination is computed in float64 from the float32 iterates and rounded to float32 before P;
 * - x_max, f_max: the iterate with the largest f so far (iterates 0..k; a later iterate replaces
 *   it only when strictly larger); with it its gradient and logits are kept;
 * - checkpoints (`apgdCheckpoints`): w_j = ⌈p_j·N⌉ for N = steps, p_0 = 0, p_1 = 0.22,
 *   p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06) (exact in hundredths); equal w_j (small N) are
 *   merged and only 0 < w_j < N act. At checkpoint w_j, once f(x^(w_j)) is known, η is halved and
 *   x^(w_j) ← x_max (with ∇f(x_max), and f(x^(w_j)) ← f_max) when (`halveAtCheckpoint`)
 *   Condition 1: #{i ∈ [w_{j−1}, w_j) : f(x^(i+1)) > f(x^(i))} < ρ·(w_j − w_{j−1}), ρ = 0.75; or
 *   Condition 2: η was not halved at w_{j−1} (none was at w_0) and f_max at w_j equals f_max at
 *   w_{j−1}. The momentum term after such a restart uses x^(w_j − 1), the iterate before it;
 * - success: some evaluated iterate t ∈ 0..N of some restart has argmax ≠ label (ties to the
 *   first max); the first such t is reported (lowest restart on ties) with its pixels. Iterates
 *   0..N−1 are evaluated with a gradient call, iterate N with a forward pass;
 * - on failure the reported restart is the one with the largest f_max (first on ties), its x_max
 *   and logits, and `iterations` = N. `alpha` in the result is the initial step size η₀ = 2ε.
 *
 * Where AutoAttack's released code (autopgd_base.py) differs from the paper we follow the paper:
 * it uses integer period lengths (⌊0.22N⌋, decreasing by ⌊0.03N⌋ down to ⌊0.06N⌋, each ≥ 1: the
 * same checkpoints for N = 100, denser ones for small N), `≤ ρ·k` in Condition 1, compares the
 * first iterate of the run with 0 instead of f(x^(0)) and a restarted iterate by its own loss
 * rather than f_max, and never applies Condition 2 at the first checkpoint. It also runs restarts
 * one after another on the images still robust (here: in parallel, same success criterion),
 * evaluates the last iterate with a gradient call, and returns the last adversarial iterate.
 */
import { checkLossClasses, rowLosses } from "../../kernels/loss.ts";
import { createRng } from "../../kernels/rng.ts";
import { argmax } from "../../kernels/softmax.ts";
import type { Classifier } from "../model/classifier.ts";
import { checkNumber, imageBatch } from "./batch.ts";
import { DEFAULT_GRADIENT_COST } from "./cost.ts";
import { gather } from "./engine.ts";
import { normStrategy } from "./norms.ts";
import { perImageStarts } from "./pgd.ts";
import { type AttackResult, type NormName, perturbationOf, predictionOf } from "./result.ts";

/** The losses APGD runs with (AutoAttack's untargeted APGD-CE and APGD-DLR). */
export type ApgdLoss = "ce" | "dlr";

/** Initial step size in units of ε (η₀ = 2ε). */
export const APGD_INITIAL_STEP = 2;
/** Momentum weight α of the new step. */
export const APGD_MOMENTUM = 0.75;
/** Default ρ of Condition 1. */
export const APGD_RHO = 0.75;

export interface ApgdOptions {
  norm: NormName;
  eps: number;
  /** N: gradient steps per restart. */
  steps: number;
  restarts: number;
  loss: ApgdLoss;
  seed: number;
  /**
   * Per-image seeds (as in pgd.ts): image i's restarts draw their boundary starts from
   * `createRng(seeds[i])`, so an image's result does not depend on the batch it runs in.
   */
  seeds?: ArrayLike<number>;
  /** One true label per image. */
  labels: ArrayLike<number>;
  /** Condition 1's threshold on the share of increasing steps (default 0.75). */
  rho?: number;
}

export interface ApgdCostOptions {
  images: number;
  steps: number;
  restarts: number;
  /** Forward-pass equivalents of one gradient row (default 2, see cost.ts). */
  gradientCost?: number;
}

/**
 * Upper bound on the forward-pass equivalents `apgd` spends: one clean forward per image, then
 * per restart `steps` gradient rows and one final forward:
 * images · (1 + restarts · (gradientCost · steps + 1)).
 */
export function estimateApgdCost(o: ApgdCostOptions): number {
  return o.images * (1 + o.restarts * ((o.gradientCost ?? DEFAULT_GRADIENT_COST) * o.steps + 1));
}

/** The acting checkpoints 0 < w_1 < w_2 < … < N of N steps (see module doc). */
export function apgdCheckpoints(steps: number): number[] {
  const out: number[] = [];
  // p in hundredths, so 0.22, 0.19, … add up exactly.
  let p = 22;
  let delta = 22;
  while (true) {
    const w = Math.ceil((p * steps) / 100);
    if (w >= steps) break;
    if (w > 0 && w !== out[out.length - 1]) out.push(w);
    delta = Math.max(delta - 3, 6);
    p += delta;
  }
  return out;
}

/** What one row did between two checkpoints. */
export interface CheckpointWindow {
  /** #{i ∈ [w_{j−1}, w_j) : f(x^(i+1)) > f(x^(i))}. */
  increases: number;
  /** w_j − w_{j−1}. */
  length: number;
  rho: number;
  /** η was halved at w_{j−1}. */
  halvedBefore: boolean;
  /** f_max at w_{j−1} and at w_j. */
  bestBefore: number;
  bestNow: number;
}

/** Condition 1 or Condition 2 of the paper: halve η and restart from x_max. */
export function halveAtCheckpoint(w: CheckpointWindow): boolean {
  const oscillating = w.increases < w.rho * w.length;
  const stalled = !w.halvedBefore && !(w.bestNow > w.bestBefore);
  return oscillating || stalled;
}

interface Hit {
  row: number;
  iterate: number;
  pixels: Float32Array;
  logits: Float32Array;
}

/** Copies row `r` of `src` (rows of `size`) into row `r` of `dst`. */
function copyRow(dst: Float32Array, src: Float32Array, r: number, size: number, srcRow = r): void {
  dst.set(src.subarray(srcRow * size, (srcRow + 1) * size), r * size);
}

/** Runs APGD on every image of `pixels` ([n, C, H, W], n = labels.length); one result per image. */
export async function apgd(
  classifier: Classifier,
  pixels: Float32Array,
  options: ApgdOptions,
): Promise<AttackResult[]> {
  const { images, size, classes, labels } = imageBatch(classifier, pixels, options.labels);
  if (options.loss !== "ce" && options.loss !== "dlr") throw new RangeError(`loss must be "ce" or "dlr"`);
  checkLossClasses(options.loss, classes);
  checkNumber("eps", options.eps);
  checkNumber("steps", options.steps, { integer: true });
  checkNumber("restarts", options.restarts, { integer: true, min: 1 });
  const rho = options.rho ?? APGD_RHO;
  checkNumber("rho", rho);
  if (rho > 1) throw new RangeError("rho must be ≤ 1");
  const { eps, steps, restarts, loss } = options;
  const norm = normStrategy(options.norm);
  const isWrong = (z: Float32Array, row: number, i: number) =>
    argmax(z.subarray(row * classes, (row + 1) * classes), { rows: 1, cols: classes })[0] !== labels[i];

  const hits: (Hit | null)[] = new Array(images).fill(null);
  const clean = await classifier.logits(pixels, images);
  for (let i = 0; i < images; i++) {
    if (isWrong(clean, i, i)) {
      hits[i] = {
        row: i * restarts,
        iterate: 0,
        pixels: pixels.slice(i * size, (i + 1) * size),
        logits: clean.slice(i * classes, (i + 1) * classes),
      };
    }
  }

  const rows = images * restarts;
  const imageOf = (r: number) => Math.floor(r / restarts);
  const origin = new Float32Array(rows * size);
  for (let r = 0; r < rows; r++) copyRow(origin, pixels, r, size, imageOf(r));
  if (options.seeds && options.seeds.length !== images) {
    throw new RangeError(`seeds has ${options.seeds.length} entries, expected ${images}`);
  }
  const x = options.seeds
    ? perImageStarts(origin, images, (i, o) => norm.boundaryStart(o, restarts, eps, createRng(options.seeds![i])))
    : norm.boundaryStart(origin, rows, eps, createRng(options.seed));
  const xPrev = new Float32Array(rows * size);
  const grad = new Float32Array(rows * size);
  const xBest = new Float32Array(rows * size);
  const gradBest = new Float32Array(rows * size);
  const logitsBest = new Float32Array(rows * classes);
  const fCur = new Float64Array(rows);
  const fBest = new Float64Array(rows).fill(-Infinity);
  const fBestAtCheck = new Float64Array(rows);
  const eta = new Float64Array(rows).fill(APGD_INITIAL_STEP * eps);
  const increases = new Int32Array(rows);
  const halvedAtCheck = new Uint8Array(rows);
  const checkpoints = apgdCheckpoints(steps);
  let lastCheckpoint = 0;
  let active = Array.from({ length: rows }, (_, r) => r).filter((r) => hits[imageOf(r)] === null);

  for (let t = 0; t <= steps && active.length > 0; t++) {
    const xa = gather(x, active, size);
    const rowLabels = Int32Array.from(active, (r) => labels[imageOf(r)]);
    let logits: Float32Array;
    if (t < steps) {
      const out = await classifier.gradient(xa, active.length, rowLabels, loss);
      logits = out.logits;
      active.forEach((r, k) => copyRow(grad, out.grad, r, size, k));
    } else {
      logits = await classifier.logits(xa, active.length);
    }
    const f = rowLosses(logits, classes, rowLabels, loss);

    // Success is decided on all active rows before anyone leaves, so ties go to the lowest row.
    active.forEach((r, k) => {
      const i = imageOf(r);
      if (hits[i] === null && isWrong(logits, k, i)) {
        hits[i] = {
          row: r,
          iterate: t,
          pixels: xa.slice(k * size, (k + 1) * size),
          logits: logits.slice(k * classes, (k + 1) * classes),
        };
      }
    });
    active.forEach((r, k) => {
      if (t > 0 && f[k] > fCur[r]) increases[r]++;
      fCur[r] = f[k];
      if (f[k] > fBest[r]) {
        fBest[r] = f[k];
        copyRow(xBest, x, r, size);
        copyRow(gradBest, grad, r, size);
        copyRow(logitsBest, logits, r, classes, k);
      }
      if (t === 0) fBestAtCheck[r] = f[k];
    });
    active = active.filter((r) => hits[imageOf(r)] === null);
    if (t === steps) break;

    if (checkpoints.includes(t)) {
      for (const r of active) {
        const halve = halveAtCheckpoint({
          increases: increases[r],
          length: t - lastCheckpoint,
          rho,
          halvedBefore: halvedAtCheck[r] === 1,
          bestBefore: fBestAtCheck[r],
          bestNow: fBest[r],
        });
        if (halve) {
          eta[r] /= 2;
          copyRow(x, xBest, r, size);
          copyRow(grad, gradBest, r, size);
          fCur[r] = fBest[r];
        }
        halvedAtCheck[r] = halve ? 1 : 0;
        fBestAtCheck[r] = fBest[r];
        increases[r] = 0;
      }
      lastCheckpoint = t;
    }
    if (active.length === 0) break;

    const cur = gather(x, active, size);
    const o = gather(origin, active, size);
    const epsRows = new Float64Array(active.length).fill(eps);
    const step = norm.step(gather(grad, active, size), Float64Array.from(active, (r) => eta[r]));
    const moved = new Float32Array(cur.length);
    for (let j = 0; j < moved.length; j++) moved[j] = cur[j] + step[j];
    let next = norm.project(moved, o, epsRows);
    if (t > 0) {
      const prev = gather(xPrev, active, size);
      const mixed = new Float32Array(cur.length);
      for (let j = 0; j < mixed.length; j++) {
        mixed[j] = cur[j] + APGD_MOMENTUM * (next[j] - cur[j]) + (1 - APGD_MOMENTUM) * (cur[j] - prev[j]);
      }
      next = norm.project(mixed, o, epsRows);
    }
    active.forEach((r, k) => {
      copyRow(xPrev, cur, r, size, k);
      copyRow(x, next, r, size, k);
    });
  }

  return Array.from({ length: images }, (_, i) => {
    const hit = hits[i];
    let row: number, adv: Float32Array, z: Float32Array;
    if (hit) {
      ({ row, pixels: adv, logits: z } = hit);
    } else {
      row = i * restarts;
      for (let r = row + 1; r < (i + 1) * restarts; r++) if (fBest[r] > fBest[row]) row = r;
      adv = xBest.slice(row * size, (row + 1) * size);
      z = logitsBest.slice(row * classes, (row + 1) * classes);
    }
    return {
      attack: loss === "ce" ? "apgd-ce" : "apgd-dlr",
      norm: options.norm,
      eps,
      steps,
      alpha: APGD_INITIAL_STEP * eps,
      restarts,
      targeted: false,
      target: null,
      loss,
      success: hit !== null,
      iterations: hit ? hit.iterate : steps,
      restart: row - i * restarts,
      adversarial: predictionOf(z),
      perturbation: perturbationOf(adv, pixels.subarray(i * size, (i + 1) * size)),
      gradient: classifier.gradientMode,
      adversarialPixels: adv,
    };
  });
}
