/**
 * What a shard produces (the contract between the shard runner, storage and the report; it
 * imports nothing). One `ImageRow` per image, one `AttackRow` per (image, attack, ε), plus
 * examples and probes. Every number is a pure function of (model, image, label, plan, audit
 * seed, image index), never of the shard it ran in.
 */

export type NormName = "linf" | "l2";

export interface ImageRow {
  /** Position in the (subsampled, name-sorted) dataset. */
  index: number;
  name: string;
  label: number;
  /** Set when the image could not be decoded: the image has no other result. */
  error: { code: string; message: string } | null;
  clean: null | {
    prediction: number;
    /** softmax probability of the prediction. */
    confidence: number;
    correct: boolean;
    /** ‖∂ce/∂pixels‖₂ at the clean image against the label; `zero` when every component is 0. */
    gradient: { l2: number; zero: boolean } | null;
  };
  /** Joint feature-squeezing score of the clean image (null when squeezing is off). */
  squeeze: number | null;
  /** Minimal-ε search: null when off; `epsilon` null when `high` did not break the image. */
  minimalEpsilon: null | { epsilon: number | null; broken: boolean; bounds: [number, number | null] };
  randomization: null | {
    /** Share of random resize-pad draws predicting the clean prediction. */
    agreement: number;
    eot: null | { success: boolean; fooledFraction: number; prediction: number };
  };
}

export interface AttackRow {
  index: number;
  /** The plan's attack id (e.g. `pgd-linf`). */
  attack: string;
  kind: string;
  norm: NormName;
  eps: number;
  /** Untargeted success: the prediction differs from the label at some iterate (0 = clean). */
  success: boolean;
  iterations: number;
  /** Prediction at the reported iterate. */
  prediction: number;
  perturbation: { linf: number; l2: number };
  /** Joint squeeze score of the adversarial example (successful ones only; null otherwise). */
  squeeze: number | null;
  gradient: "exact" | "spsa";
  /** True for SPSA rows of the gradient-masking check (on a sample of images). */
  blackBox: boolean;
}

export interface ExampleImage {
  index: number;
  name: string;
  label: number;
  attack: string;
  eps: number;
  prediction: number;
  linf: number;
  /** base64 PNGs: the clean image, the adversarial one, the perturbation amplified to full range. */
  clean: string;
  adversarial: string;
  perturbation: string;
}

export interface ShardProbes {
  /** The shard's clean batch run twice: rows compared and the largest |Δlogit|. */
  determinism: { rows: number; maxAbsDiff: number; argmaxChanged: number };
}

export interface ShardResult {
  shard: number;
  images: ImageRow[];
  attacks: AttackRow[];
  /** Up to `plan.examples` examples: the shard's lowest image indices with a successful attack. */
  examples: ExampleImage[];
  probes: ShardProbes;
  /** Wall-clock milliseconds per stage (the only field that differs between runs). */
  timings: Record<string, number>;
  /** Forward-pass equivalents spent per stage. */
  compute: Record<string, number>;
}
