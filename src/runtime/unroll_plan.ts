/**
 * Whether a model gets an unrolled L∞ step graph at load (src/autodiff/unroll.ts), and for which
 * batches PGD runs it: measured against the single-step loop per backend and batch size
 * (BENCHMARKS.md, section 5).
 */
import type { LossKind } from "../model/classifier.ts";
import type { Manifest } from "../model/manifest.ts";
import type { BackendName } from "./protocol.ts";

export interface UnrollPlan {
  /** The loss the graph is built for (the per-image check's PGD and minimal-ε use "ce"). */
  loss: LossKind;
  /** Steps per session run. */
  steps: number;
  /** Largest batch of rows that runs unrolled (more rows: the single-step loop). */
  maxRows: number;
}

export const UNROLLED_STEPS = 5;

/** The plan for a model on `backend`, or null when the unrolled graph is not worth its load cost. */
export function unrollPlan(backend: BackendName, manifest: Manifest, _modelBytes: number): UnrollPlan | null {
  if (backend === "webgpu") return null;
  const { channels, height, width } = manifest.input;
  if (channels * height * width > 3 * 64 * 64) return null;
  return { loss: "ce", steps: UNROLLED_STEPS, maxRows: 4 };
}
