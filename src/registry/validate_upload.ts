import { checkGradientInWorker, GradientCheckTimeoutError } from "../gradcheck/check_in_worker.ts";
import type { GradientCheck } from "../gradcheck/check_protocol.ts";
import type { ModelInspection } from "../autodiff/mod.ts";
import { RequestError } from "../errors.ts";
import type { InferenceEngine } from "../runtime/engine.ts";
import type { OneShotLimits } from "../runtime/one_shot_worker.ts";
import type { GradientInfo } from "../runtime/onnx_classifier.ts";
import type { Manifest } from "../model/manifest.ts";
import { AnalysisTimeoutError, analyzeInWorker } from "./analyze_in_worker.ts";
import { type ClassifierProbe, probeClassifier } from "./probe_classifier.ts";
import {
  ProbeCrashError,
  ProbeTimeoutError,
  SubprocessUnavailableError,
  type UploadProber,
} from "./probe_in_subprocess.ts";

/** What an upload was checked for, stored beside the version and served at /v1/models/{id}/inspect. */
export interface UploadInspection extends ModelInspection {
  sha256: string;
  bytes: number;
  maxBatch: number;
  /** One forward pass on a blank (all-zero pixels) image. */
  forward: { finite: true; logits: number[]; ms: number };
  gradient: GradientInfo & {
    /** Derived gradient vs central differences of the model itself (null when the model uses SPSA). */
    check: GradientCheck | null;
  };
  validatedAt: string;
  validationMs: number;
}

export interface ValidateUploadOptions {
  engine: InferenceEngine;
  manifest: Manifest;
  modelBytes: Uint8Array;
  sha256: string;
  /** Aborting stops the validation (the gradient check's Worker is terminated) and rejects with the reason. */
  signal?: AbortSignal;
  /** A gradient check still running after this long is stopped: 422 `gradient_check_failed`. */
  gradientCheckTimeoutMs?: number;
  /** The graph's analysis (decoding, inspection) still running after this long is stopped: 422 `invalid_model`. */
  analysisTimeoutMs?: number;
  /**
   * Where the model is loaded to be probed (onnxruntime's session builds, a blank forward pass): a process of its own
   * (probe_in_subprocess.ts), or, without one, the serving engine, where no time limit can stop a build.
   */
  prober?: UploadProber;
  /** A probe past this is stopped: 422 `invalid_model`. */
  loadTimeoutMs?: number;
}

/**
 * Everything an uploaded model must pass before it becomes visible: the bytes decode as an ONNX
 * ModelProto with a supported opset, the manifest agrees with the graph (names, shapes, classes =
 * labels, float32 input, a [N, classes] output), one forward pass on a blank image is finite,
 * and the exact gradient either derives and passes a numerical check or the model is marked SPSA
 * with the ops that lack a rule. Each failure is a 422 naming the problem. The graph's analysis (analyze_upload.ts)
 * and the numerical check (src/gradcheck/check_in_worker.ts) run in Workers of their own: seconds of work on a large
 * or many-node model, which must not stall the server. The model is loaded, as the service will serve it, in a process
 * of its own (probe_in_subprocess.ts), which a time limit or a crash of onnxruntime ends without touching the server.
 */
export async function validateUpload(options: ValidateUploadOptions): Promise<UploadInspection> {
  const start = performance.now();
  const { engine, manifest, modelBytes, signal } = options;
  signal?.throwIfAborted();
  const spec = { input: manifest.input, output: manifest.output };
  const analysis = await analyzeInWorker(modelBytes, spec, { signal, timeoutMs: options.analysisTimeoutMs }).catch(
    (error) => {
      if (!(error instanceof AnalysisTimeoutError)) throw error;
      throw new RequestError(422, "invalid_model", `model: its analysis did not finish within ${error.timeoutMs} ms`);
    },
  );
  if (!analysis.ok && analysis.stage === "decode") throw new RequestError(422, analysis.code, analysis.message);
  const probe = await probeUpload(options.prober, engine, manifest, modelBytes, options.sha256, {
    signal,
    timeoutMs: options.loadTimeoutMs,
  });
  if (!probe.loaded) {
    if (probe.error === "manifest_mismatch") {
      throw new RequestError(422, "manifest_mismatch", `manifest.${probe.message}`);
    }
    throw new RequestError(422, "invalid_model", `model: onnxruntime cannot load it (${probe.message})`);
  }
  if (!analysis.ok) throw new RequestError(422, "invalid_model", analysis.message);
  const { inspection } = analysis;
  const output = inspection.outputs.find((o) => o.name === manifest.output.name);
  if (output && output.dims.length > 0 && output.dims.length !== 2) {
    throw new RequestError(
      422,
      "invalid_output",
      `manifest.output.name: "${output.name}" is [${output.dims.join(",")}], expected [N, ${manifest.labels.length}]`,
    );
  }
  const { forward } = probe;
  if (!forward.ok) throw new RequestError(422, "invalid_model", `model: a forward pass failed (${forward.message})`);
  if (forward.outputs !== manifest.labels.length) {
    throw new RequestError(
      422,
      "invalid_output",
      `manifest.labels: one image gives ${forward.outputs} outputs but the manifest lists ${manifest.labels.length} labels`,
    );
  }
  if (!forward.finite) {
    throw new RequestError(422, "non_finite_output", "model: a blank image gives non-finite outputs (NaN or ±Inf)");
  }
  const gradientInfo = probe.gradient;
  let check: GradientCheck | null = null;
  if (gradientInfo.mode === "exact") {
    const limits = { signal, timeoutMs: options.gradientCheckTimeoutMs };
    check = await checkGradientInWorker(modelBytes, manifest, { inputs: 1, directions: 3 }, limits).catch((error) => {
      if (!(error instanceof GradientCheckTimeoutError)) throw error;
      throw new RequestError(
        422,
        "gradient_check_failed",
        `model: the numerical gradient check did not finish within ${error.timeoutMs} ms`,
      );
    });
    if (!check.ok) {
      throw new RequestError(
        422,
        "gradient_check_failed",
        `model: the derived gradient disagrees with finite differences (relative error ${
          check.maxRelError.toPrecision(3)
        }); please report the model`,
      );
    }
  }
  return {
    ...inspection,
    sha256: options.sha256,
    bytes: modelBytes.length,
    maxBatch: probe.maxBatch,
    forward: { finite: true, logits: forward.logits, ms: forward.ms },
    gradient: { ...gradientInfo, check },
    validatedAt: new Date().toISOString(),
    validationMs: performance.now() - start,
  };
}

let warnedInProcess = false;

/**
 * The upload loaded by `prober` where it can spawn its process, else (Deno Deploy, no `--allow-run`, no prober) on the
 * serving engine, whose session builds no time limit can stop.
 */
async function probeUpload(
  prober: UploadProber | undefined,
  engine: InferenceEngine,
  manifest: Manifest,
  modelBytes: Uint8Array,
  sha256: string,
  limits: OneShotLimits,
): Promise<ClassifierProbe> {
  if (!prober) return await probeClassifier(engine, manifest, modelBytes, sha256);
  try {
    return await prober.probe(manifest, sha256, modelBytes, limits);
  } catch (error) {
    if (error instanceof ProbeTimeoutError) {
      throw new RequestError(
        422,
        "invalid_model",
        `model: onnxruntime did not load it within ${error.timeoutMs} ms (its sessions build too slowly)`,
      );
    }
    if (error instanceof ProbeCrashError) {
      throw new RequestError(
        422,
        "invalid_model",
        `model: onnxruntime failed loading it (its process ended with ${error.how})`,
      );
    }
    if (!(error instanceof SubprocessUnavailableError)) throw error;
    if (!warnedInProcess) {
      warnedInProcess = true;
      console.warn(`${error.message}; uploads are loaded on the serving engine, without a time limit`);
    }
    return await probeClassifier(engine, manifest, modelBytes, sha256);
  }
}
