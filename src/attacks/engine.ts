/**
 * The one gradient-descent engine behind FGSM, PGD, minimal-ε and EoT-PGD (Foolbox 3 style).
 *
 * Every row r starts at `start[r]` (iterate 0) and is updated as
 *   x_{t+1} = Proj_{ε_r}( fround(x_t + step_{α_r}(s · ∇loss(x_t, gradientLabels[r]))) ),
 * with s = +1 untargeted (ascend the loss of the true label) and s = −1 targeted (descend the
 * loss of the target). `step` (α·direction, float32) and `Proj` come from the norm strategy
 * (norms.ts); Proj is taken around `origin[r]` (the clean image) and then clipped to [0,1].
 *
 * Success tracking (when `isAdversarial` is given): the rows' logits are checked at every iterate
 * t = 0..steps (t < steps from the gradient call's logits, t = steps from one extra forward).
 * Rows belong to groups (one group = the restarts of one image). The first iterate at which any
 * row of a group is adversarial is that group's success; among rows succeeding at the same
 * iterate the lowest row index wins. A group's rows then leave the batch (early stop).
 * Without `isAdversarial`, all rows run all `steps` and no final forward is made.
 *
 * Cancellation: `signal` is checked before every classifier batch; an aborted descent throws its reason.
 */
import type { Classifier, LossKind } from "../model/classifier.ts";
import type { NormStrategy } from "./norms.ts";
import { emptyEvaluations, type Evaluations } from "./cost.ts";

/** Computes ∂loss/∂x for a batch of rows; `logits` are per row or null when not meaningful. */
export interface GradientSource {
  /** Classifier gradient rows spent per input row (1 for a plain gradient, K for EoT). */
  readonly rowsPerRow: number;
  compute(
    pixels: Float32Array,
    rows: number,
    labels: Int32Array,
    loss: LossKind,
  ): Promise<{ grad: Float32Array; logits: Float32Array | null }>;
}

/** Uses the classifier's own gradient (exact or SPSA, whatever it provides). */
export function classifierGradient(classifier: Classifier): GradientSource {
  return {
    rowsPerRow: 1,
    async compute(pixels, rows, labels, loss) {
      const r = await classifier.gradient(pixels, rows, labels, loss);
      return { grad: r.grad, logits: r.logits };
    },
  };
}

export interface DescentProblem {
  classifier: Classifier;
  gradient: GradientSource;
  norm: NormStrategy;
  loss: LossKind;
  targeted: boolean;
  steps: number;
  /** [rows, C, H, W]: the clean image of each row (centre of its ε-ball). */
  origin: Float32Array;
  /** [rows, C, H, W]: iterate 0 of each row. */
  start: Float32Array;
  /** Per-row ball radius. */
  eps: Float64Array;
  /** Per-row step size. */
  alpha: Float64Array;
  /** Per-row label the loss is taken against: the true label, or the target when targeted. */
  gradientLabels: Int32Array;
  /** Per-row group index in 0..groups−1 (rows of one image share a group). */
  groups: Int32Array;
  /** Success test of one row's logits (`[classes]`), or null to run without tracking. */
  isAdversarial: ((logits: Float32Array, row: number) => boolean) | null;
  /** Checked before every batch: once aborted, the descent throws the signal's reason. */
  signal?: AbortSignal;
}

export interface GroupSuccess {
  row: number;
  iterate: number;
  pixels: Float32Array;
  logits: Float32Array;
}

export interface DescentOutcome {
  /** Per group: its first adversarial iterate, or null. */
  success: (GroupSuccess | null)[];
  /** [rows, C, H, W]: each row's last iterate (where it left the batch, or after all steps). */
  final: Float32Array;
  /** [rows, classes]: logits at each row's last evaluated iterate (NaN when never evaluated). */
  finalLogits: Float32Array;
  /** Classifier rows spent per group. */
  evaluations: Evaluations[];
}

/** Rows `rows` of a row-major `[*, size]` array, in that order. */
export function gather(src: Float32Array, rows: readonly number[], size: number): Float32Array {
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, i) => out.set(src.subarray(r * size, (r + 1) * size), i * size));
  return out;
}

export async function descend(p: DescentProblem): Promise<DescentOutcome> {
  const rows = p.eps.length;
  const size = p.origin.length / rows;
  const classes = p.classifier.manifest.labels.length;
  const groupCount = p.groups.reduce((m, g) => Math.max(m, g + 1), 0);
  const success: (GroupSuccess | null)[] = new Array(groupCount).fill(null);
  const evaluations = Array.from({ length: groupCount }, emptyEvaluations);
  const x = p.start.slice();
  const finalLogits = new Float32Array(rows * classes).fill(NaN);
  let active = Array.from({ length: rows }, (_, r) => r);

  for (let t = 0; t <= p.steps && active.length > 0; t++) {
    p.signal?.throwIfAborted();
    const xa = gather(x, active, size);
    const last = t === p.steps;
    let grad: Float32Array | null = null;
    let logits: Float32Array | null = null;
    if (!last) {
      const labels = Int32Array.from(active, (r) => p.gradientLabels[r]);
      ({ grad, logits } = await p.gradient.compute(xa, active.length, labels, p.loss));
      for (const r of active) evaluations[p.groups[r]].gradientRows += p.gradient.rowsPerRow;
    } else if (p.isAdversarial) {
      logits = await p.classifier.logits(xa, active.length);
      for (const r of active) evaluations[p.groups[r]].forwardRows += 1;
    }

    // Success is decided on all active rows before anyone leaves, so ties go to the lowest row.
    const isAdversarial = p.isAdversarial;
    if (logits && isAdversarial) {
      const z0 = logits;
      active.forEach((r, i) => {
        const z = z0.subarray(i * classes, (i + 1) * classes);
        finalLogits.set(z, r * classes);
        const g = p.groups[r];
        if (success[g] === null && isAdversarial(z, r)) {
          success[g] = {
            row: r,
            iterate: t,
            pixels: xa.slice(i * size, (i + 1) * size),
            logits: z.slice(),
          };
        }
      });
    }
    if (last || !grad) break;
    const gradNow = grad;

    const keep: number[] = [];
    active.forEach((r, i) => {
      if (success[p.groups[r]] === null) keep.push(i);
    });
    if (keep.length === 0) break;
    const sign = p.targeted ? -1 : 1;
    const g = new Float32Array(keep.length * size);
    const cur = new Float32Array(keep.length * size);
    keep.forEach((i, k) => {
      for (let j = 0; j < size; j++) g[k * size + j] = sign * gradNow[i * size + j];
      cur.set(xa.subarray(i * size, (i + 1) * size), k * size);
    });
    active = keep.map((i) => active[i]);
    const eps = Float64Array.from(active, (r) => p.eps[r]);
    const alpha = Float64Array.from(active, (r) => p.alpha[r]);
    const step = p.norm.step(g, alpha);
    // float32 + float32 rounded once to float32 (the same as a float32 add).
    const moved = new Float32Array(cur.length);
    for (let j = 0; j < moved.length; j++) moved[j] = cur[j] + step[j];
    const origin = gather(p.origin, active, size);
    const next = p.norm.project(moved, origin, eps);
    active.forEach((r, k) => x.set(next.subarray(k * size, (k + 1) * size), r * size));
  }
  return { success, final: x, finalLogits, evaluations };
}
