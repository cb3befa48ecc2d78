/** `analyzeUpload` in a dedicated, short-lived Worker (analysis_worker.ts, runtime/one_shot_worker.ts). */
import type { GradientSpec } from "../autodiff/derive.ts";
import { type OneShotLimits, runInWorker } from "../runtime/one_shot_worker.ts";
import type { UploadAnalysis } from "./analyze_upload.ts";

/** Main thread → analysis Worker (the bytes are a copy, transferred). */
export interface AnalysisRequest {
  modelBytes: Uint8Array;
  spec: GradientSpec;
}

/** The analysis did not answer within its time limit; its Worker was terminated. */
export class AnalysisTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the model's analysis did not finish within ${timeoutMs} ms`);
    this.name = "AnalysisTimeoutError";
  }
}

/** `analyzeUpload(modelBytes, spec)` off the main thread; the caller's bytes stay usable. */
export function analyzeInWorker(
  modelBytes: Uint8Array,
  spec: GradientSpec,
  limits: OneShotLimits = {},
): Promise<UploadAnalysis> {
  const request: AnalysisRequest = { modelBytes: modelBytes.slice(), spec: { input: spec.input, output: spec.output } };
  return runInWorker<AnalysisRequest, UploadAnalysis>(
    new URL("./analysis_worker.ts", import.meta.url),
    request,
    [request.modelBytes.buffer as ArrayBuffer],
    "the model's analysis",
    limits,
    (ms) => new AnalysisTimeoutError(ms),
  );
}
