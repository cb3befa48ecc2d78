/**
 * Seeds of an audit. Image i (its index in the audit's dataset) gets its own seed
 *   imageSeed(seed, i) = fmix32((seed + (i + 1)·0x85EBCA6B) mod 2³²)   (murmur3's finaliser),
 * and within an image, stage k uses stageSeed(imageSeed, k) = (imageSeed + k·0x9E3779B9) mod 2³²
 * with the check's stage numbers: 1 randomization draws, 2 EoT-PGD, 3 minimal ε, 16 + p for the
 * p-th random PGD probe (the plan's PGD (attack, ε) pairs in order). So an image's audit result
 * equals `/check` on that image with `seed: imageSeed(seed, i)` and the same probes wherever the
 * two run the same thing. The SPSA sample is drawn with stageSeed(seed, 5); the subsample uses its
 * own seed (default: the audit seed).
 */
import { stageSeed } from "../check/probe.ts";

export { stageSeed };

export const STAGE = {
  randomization: 1,
  eot: 2,
  minimalEpsilon: 3,
  /** Dataset-level: which images the SPSA check runs on. */
  spsaSample: 5,
  /** Per image: SPSA directions. */
  spsa: 6,
  /** First PGD probe; probe p uses 16 + p. */
  pgd: 16,
} as const;

export function imageSeed(seed: number, index: number): number {
  let h = (seed + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
