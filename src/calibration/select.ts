import { type Squeezer, squeezerName } from "../check/squeeze.ts";
import { thresholdForFpr } from "./threshold.ts";

/** The attacks whose successful adversarial examples the selection tries to detect. */
export const SELECTION_ATTACKS = ["fgsm", "pgd"] as const;
export type SelectionAttack = typeof SELECTION_ATTACKS[number];

/** One image's score under every squeezer (index = position in the squeezer list), clean and attacked. */
export interface ScoredImage {
  clean: Float64Array;
  /** Present only for attacks that succeeded on this image (Xu et al. count only those). */
  adversarial: Partial<Record<SelectionAttack, Float64Array>>;
}

/** How well one squeezer set separates clean from adversarial images on some images. */
export interface AttackFigures {
  /** ROC AUC of the joint score, clean (negative) vs adversarial (positive); ties count ½; null without examples. */
  auc: number | null;
  /** Share of adversarial examples whose joint score exceeds the threshold; null without examples. */
  detectionRate: number | null;
  examples: number;
}

export interface CandidateFigures {
  squeezers: string[];
  /** Threshold for the target FPR on the selection half's clean scores. */
  threshold: number;
  /** Pooled over both attacks: what the selection maximises. */
  detectionRate: number;
  attacks: Record<SelectionAttack, AttackFigures>;
}

export interface HeldOutFigures {
  squeezers: string[];
  threshold: number;
  /** Share of held-out clean images flagged at that threshold. */
  fpr: number;
  attacks: Record<SelectionAttack, AttackFigures>;
}

export interface SelectionOutcome {
  search: { candidates: string[]; maxSetSize: number; sets: number };
  /** Every evaluated set on the selection half, best first (the order the choice is made in). */
  candidates: CandidateFigures[];
  chosen: Squeezer[];
  threshold: number;
  /** The chosen set's threshold on the selection half's clean images. */
  selectionFpr: number;
  heldOut: HeldOutFigures;
  /** The same figures for the set the model used before (its defaults), if given. */
  baseline: HeldOutFigures | null;
}

/** Largest set considered: C(n,1)+C(n,2)+C(n,3) sets for n candidates (≤ 298 for the 12 allowed). */
export const MAX_SET_SIZE = 3;
export const MAX_CANDIDATES = 12;

/** Relative cost of a squeezer for tie-breaking: bit depth < median < non-local means. */
const COST: Record<Squeezer["kind"], number> = { bitDepth: 1, median: 2, nonLocalMeans: 3 };

/** Every non-empty subset of at most `maxSize` of the candidates' indices, by size then lexicographically. */
export function candidateSets(count: number, maxSize = MAX_SET_SIZE): number[][] {
  const out: number[][] = [];
  const grow = (prefix: number[], start: number, size: number) => {
    if (prefix.length === size) return void out.push(prefix);
    for (let i = start; i < count; i++) grow([...prefix, i], i + 1, size);
  };
  for (let size = 1; size <= Math.min(maxSize, count); size++) grow([], 0, size);
  return out;
}

/** ROC AUC as the Mann–Whitney statistic: P(adversarial > clean) + ½·P(equal). */
export function rocAuc(clean: readonly number[], adversarial: readonly number[]): number | null {
  if (clean.length === 0 || adversarial.length === 0) return null;
  const all = [...clean.map((v) => ({ v, adv: false })), ...adversarial.map((v) => ({ v, adv: true }))]
    .sort((a, b) => a.v - b.v);
  // Sum of the adversarial scores' mid-ranks (1-based), ties sharing their average rank.
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].v === all[i].v) j++;
    const midRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].adv) rankSum += midRank;
    i = j;
  }
  const n = adversarial.length;
  return (rankSum - n * (n + 1) / 2) / (n * clean.length);
}

function jointOf(scores: Float64Array, set: readonly number[]): number {
  let joint = 0;
  for (const i of set) joint = Math.max(joint, scores[i]);
  return joint;
}

function figuresOn(
  images: readonly ScoredImage[],
  set: readonly number[],
  threshold: number,
): { cleanScores: number[]; attacks: Record<SelectionAttack, AttackFigures> } {
  const cleanScores = images.map((im) => jointOf(im.clean, set));
  const attacks = {} as Record<SelectionAttack, AttackFigures>;
  for (const attack of SELECTION_ATTACKS) {
    const adv = images.flatMap((im) => im.adversarial[attack] ? [jointOf(im.adversarial[attack], set)] : []);
    attacks[attack] = {
      auc: rocAuc(cleanScores, adv),
      detectionRate: adv.length ? adv.filter((s) => s > threshold).length / adv.length : null,
      examples: adv.length,
    };
  }
  return { cleanScores, attacks };
}

function heldOutFigures(
  squeezers: readonly Squeezer[],
  images: readonly ScoredImage[],
  set: readonly number[],
  threshold: number,
): HeldOutFigures {
  const { cleanScores, attacks } = figuresOn(images, set, threshold);
  return {
    squeezers: set.map((i) => squeezerName(squeezers[i])),
    threshold,
    fpr: cleanScores.filter((s) => s > threshold).length / cleanScores.length,
    attacks,
  };
}

/**
 * Xu et al.'s per-data-set squeezer choice, made on data: for every set of at most MAX_SET_SIZE of
 * the candidates (joint score = max over the set, so no extra inference per set), the threshold for
 * `targetFpr` on the selection half's clean scores and the pooled detection rate of the selection
 * half's adversarial examples at it. The best set wins; ties go to fewer squeezers, then the cheaper
 * set (bit depth 1 < median 2 < non-local means 3, summed), then the higher mean AUC, then candidate
 * order. The winner and `baseline` are then measured on the held-out half with the same threshold.
 *
 * `squeezers` lists every scored squeezer (scores are indexed by it); `candidates` and `baseline`
 * are index lists into it.
 */
export function selectSqueezers(input: {
  squeezers: readonly Squeezer[];
  candidates: readonly number[];
  baseline?: readonly number[];
  selection: readonly ScoredImage[];
  heldOut: readonly ScoredImage[];
  targetFpr: number;
  maxSetSize?: number;
}): SelectionOutcome {
  const { squeezers, selection, targetFpr } = input;
  const maxSetSize = input.maxSetSize ?? MAX_SET_SIZE;
  const sets = candidateSets(input.candidates.length, maxSetSize).map((s) => s.map((k) => input.candidates[k]));
  const evaluated = sets.map((set, order) => {
    const { threshold } = thresholdForFpr(selection.map((im) => jointOf(im.clean, set)), targetFpr);
    const { attacks } = figuresOn(selection, set, threshold);
    const detected = SELECTION_ATTACKS.reduce((n, a) => n + (attacks[a].detectionRate ?? 0) * attacks[a].examples, 0);
    const examples = SELECTION_ATTACKS.reduce((n, a) => n + attacks[a].examples, 0);
    const aucs = SELECTION_ATTACKS.flatMap((a) => attacks[a].auc === null ? [] : [attacks[a].auc]);
    return {
      set,
      order,
      cost: set.reduce((c, i) => c + COST[squeezers[i].kind], 0),
      meanAuc: aucs.length ? aucs.reduce((a, b) => a + b, 0) / aucs.length : 0,
      figures: {
        squeezers: set.map((i) => squeezerName(squeezers[i])),
        threshold,
        detectionRate: examples ? detected / examples : 0,
        attacks,
      },
    };
  });
  evaluated.sort((a, b) =>
    b.figures.detectionRate - a.figures.detectionRate || a.set.length - b.set.length || a.cost - b.cost ||
    b.meanAuc - a.meanAuc || a.order - b.order
  );
  const best = evaluated[0];
  const measure = (set: readonly number[]) => {
    const { threshold } = thresholdForFpr(selection.map((im) => jointOf(im.clean, set)), targetFpr);
    return heldOutFigures(squeezers, input.heldOut, set, threshold);
  };
  return {
    search: {
      candidates: input.candidates.map((i) => squeezerName(squeezers[i])),
      maxSetSize,
      sets: sets.length,
    },
    candidates: evaluated.map((e) => e.figures),
    chosen: best.set.map((i) => squeezers[i]),
    threshold: best.figures.threshold,
    selectionFpr: thresholdForFpr(selection.map((im) => jointOf(im.clean, best.set)), targetFpr).fpr,
    heldOut: heldOutFigures(squeezers, input.heldOut, best.set, best.figures.threshold),
    baseline: input.baseline ? measure(input.baseline) : null,
  };
}

/** A seeded split of `count` items into a selection half (⌊count/2⌋) and a held-out half (Fisher–Yates). */
export function splitIndices(count: number, next: () => number): { selection: number[]; heldOut: number[] } {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const half = Math.floor(count / 2);
  return { selection: order.slice(0, half), heldOut: order.slice(half) };
}
