import { softmax } from "../../kernels/softmax.ts";
import { bitDepth, median, nonLocalMeans } from "../../kernels/squeeze.ts";
import { z } from "zod";
import type { Classifier } from "../model/classifier.ts";

export const SqueezerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("bitDepth"), bits: z.number().int().min(1).max(8) }).strict(),
  z.object({ kind: z.literal("median"), size: z.number().int().min(1).max(11) }).strict(),
  z.object({
    kind: z.literal("nonLocalMeans"),
    search: z.number().int().min(1).max(21).refine((v) => v % 2 === 1, "search must be odd"),
    patch: z.number().int().min(1).max(11).refine((v) => v % 2 === 1, "patch must be odd"),
    h: z.number().positive().max(255),
  }).strict(),
]);
export type Squeezer = z.infer<typeof SqueezerSchema>;

export interface SqueezeScores {
  /** L1 distance between the softmax of the input and of each squeezed version, by squeezer name. */
  scores: Record<string, number>;
  /** max over squeezers (Xu et al.'s joint detection score). */
  joint: number;
}

type ImageShape = { channels: number; height: number; width: number };

/** Stable report names: `bitDepth:5`, `median:2`, `nonLocalMeans:13-3-2`. */
export function squeezerName(s: Squeezer): string {
  if (s.kind === "bitDepth") return `bitDepth:${s.bits}`;
  if (s.kind === "median") return `median:${s.size}`;
  return `nonLocalMeans:${s.search}-${s.patch}-${s.h}`;
}

function applySqueezer(s: Squeezer, pixels: Float32Array, shape: ImageShape): Float32Array {
  if (s.kind === "bitDepth") return bitDepth(pixels, s.bits);
  if (s.kind === "median") return median(pixels, shape, s.size);
  return nonLocalMeans(pixels, { n: 1, ...shape }, { search: s.search, patch: s.patch, h: s.h });
}

/** The squeezed versions of one CHW image, stacked as one batch in squeezer order. */
export function squeezedBatch(pixels: Float32Array, shape: ImageShape, squeezers: readonly Squeezer[]): Float32Array {
  const batch = new Float32Array(squeezers.length * pixels.length);
  squeezers.forEach((s, i) => batch.set(applySqueezer(s, pixels, shape), i * pixels.length));
  return batch;
}

/**
 * Feature squeezing scores (Xu et al., NDSS 2018): each score is
 * ‖softmax(f(x)) − softmax(f(squeeze(x)))‖₁ (float64 sum), the joint score their maximum.
 */
export function scoresFromLogits(
  cleanLogits: Float32Array,
  squeezedLogits: Float32Array,
  squeezers: readonly Squeezer[],
): SqueezeScores {
  const classes = cleanLogits.length;
  const clean = softmax(cleanLogits, { rows: 1, cols: classes });
  const squeezed = softmax(squeezedLogits, { rows: squeezers.length, cols: classes });
  const scores: Record<string, number> = {};
  let joint = 0;
  squeezers.forEach((s, i) => {
    let l1 = 0;
    for (let j = 0; j < classes; j++) l1 += Math.abs(clean[j] - squeezed[i * classes + j]);
    scores[squeezerName(s)] = l1;
    joint = Math.max(joint, l1);
  });
  return { scores, joint };
}

/** Squeezes one image and scores it, all squeezed versions in one batched forward pass. */
export async function squeezeScores(
  classifier: Classifier,
  pixels: Float32Array,
  cleanLogits: Float32Array,
  squeezers: readonly Squeezer[],
): Promise<SqueezeScores> {
  const batch = squeezedBatch(pixels, classifier.manifest.input, squeezers);
  return scoresFromLogits(cleanLogits, await classifier.logits(batch, squeezers.length), squeezers);
}
