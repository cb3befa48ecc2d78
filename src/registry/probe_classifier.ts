import { messageOf } from "../errors.ts";
import type { Manifest } from "../model/manifest.ts";
import type { InferenceEngine } from "../runtime/engine.ts";
import { type GradientInfo, loadClassifier, ModelSpecError } from "../runtime/onnx_classifier.ts";

/** One forward pass on a blank (all-zero pixels) image. */
export type BlankForward =
  | { ok: true; outputs: number; finite: true; logits: number[]; ms: number }
  /** Non-finite logits are not listed: JSON, which carries the probe across processes, has no NaN or ±Inf. */
  | { ok: true; outputs: number; finite: false; ms: number }
  | { ok: false; message: string };

/**
 * What validation learns from loading an upload as the service will serve it (onnxruntime's forward and gradient
 * sessions, built by `loadClassifier`), as plain data: it crosses a process boundary (probe_in_subprocess.ts), and
 * validate_upload.ts decides, in its own order, which failure the client hears about.
 */
export type ClassifierProbe =
  | { loaded: false; error: "manifest_mismatch" | "load_failed"; message: string }
  | { loaded: true; maxBatch: number; gradient: GradientInfo; forward: BlankForward };

/** Loads the model on `engine`, runs one blank image through it and releases its sessions again. */
export async function probeClassifier(
  engine: InferenceEngine,
  manifest: Manifest,
  modelBytes: Uint8Array,
  sha256: string,
): Promise<ClassifierProbe> {
  let classifier;
  try {
    classifier = await loadClassifier({ engine, manifest, modelBytes, sha256 });
  } catch (error) {
    if (error instanceof ModelSpecError) return { loaded: false, error: "manifest_mismatch", message: error.message };
    return { loaded: false, error: "load_failed", message: messageOf(error) };
  }
  try {
    const { channels, height, width } = manifest.input;
    const started = performance.now();
    let forward: BlankForward;
    try {
      const logits = await classifier.logits(new Float32Array(channels * height * width), 1);
      const ms = performance.now() - started;
      forward = logits.every(Number.isFinite)
        ? { ok: true, outputs: logits.length, finite: true, logits: Array.from(logits), ms }
        : { ok: true, outputs: logits.length, finite: false, ms };
    } catch (error) {
      forward = { ok: false, message: messageOf(error) };
    }
    const gradient = { ...classifier.gradientInfo, buildMs: { ...classifier.gradientInfo.buildMs } };
    return { loaded: true, maxBatch: classifier.maxBatch, gradient, forward };
  } finally {
    await classifier.release();
  }
}
