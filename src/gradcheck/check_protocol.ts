/**
 * The gradient check's contract, shared by `checkGradient` (gradcheck.ts, which loads onnxruntime-web), the check
 * Worker and the main-thread side that spawns it (check_in_worker.ts). Types only: importing this module never loads
 * onnxruntime, so the server's main thread can name a check without running one.
 */
import type { GradientSpec } from "../autodiff/derive.ts";
import type { UnsupportedNode } from "../autodiff/errors.ts";
import type { LossKind } from "../model/classifier.ts";

export interface GradientCheckOptions {
  loss?: LossKind;
  inputs?: number;
  directions?: number;
  steps?: number[];
  tolerance?: number;
  seed?: number;
  /** Check this already-derived gradient model instead of deriving one from `modelBytes`. */
  gradientModel?: Uint8Array;
}

export interface GradientCheck {
  mode: "exact";
  maxRelError: number;
  ok: boolean;
  /** max |derived logits − original outputs| over the sampled inputs. */
  logitsMaxAbsDiff: number;
  buildMs: number;
  /** Cosine between the exact gradient and a default-budget SPSA estimate (null: input too large). */
  spsaCosine: number | null;
}

/** Main thread → check Worker: the one check this Worker exists for (its buffers are transferred). */
export interface CheckRequest {
  modelBytes: Uint8Array;
  spec: GradientSpec;
  options: GradientCheckOptions;
}

/**
 * Check Worker → main thread. A failure carries what the main thread needs to throw the same error again: the
 * offending nodes of a NotDifferentiableError, otherwise the error's name and message.
 */
export type CheckReply =
  | { ok: true; check: GradientCheck }
  | { ok: false; notDifferentiable: UnsupportedNode[] }
  | { ok: false; name: string; message: string };
