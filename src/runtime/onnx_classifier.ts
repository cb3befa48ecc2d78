import { toModelInput } from "../../kernels/preprocess.ts";
import { checkLossClasses } from "../../kernels/loss.ts";
import { logitsFromProbabilities } from "../../kernels/softmax.ts";
import { deriveGradientModel, NotDifferentiableError } from "../autodiff/mod.ts";
import type { Manifest } from "../registry/manifest.ts";
import type { Classifier, GradientMode, GradientResult, LossKind } from "./classifier.ts";
import type { InferenceEngine, SessionHandle } from "./engine.ts";
import type { TensorPayload, ValueInfo } from "./protocol.ts";
import { SPSA_DELTA, SPSA_MAX_BATCH_ROWS, spsaGradient, spsaSamples } from "./spsa.ts";

/** Raised when a model and its manifest disagree; names the field at fault. */
export class ModelSpecError extends Error {}

export interface GradientInfo {
  mode: GradientMode;
  /** Op types without a gradient rule (SPSA is used then). */
  unsupported: string[];
  /** Why the exact gradient is unavailable, when it is not. */
  reason?: string;
  /** Milliseconds spent deriving each gradient model built so far. */
  buildMs: Partial<Record<LossKind, number>>;
}

export interface OnnxClassifier extends Classifier {
  readonly gradientInfo: GradientInfo;
  /** Largest batch one session run accepts (1 for models exported with a fixed batch of 1). */
  readonly maxBatch: number;
  release(): Promise<void>;
}

export interface LoadClassifierOptions {
  engine: InferenceEngine;
  manifest: Manifest;
  modelBytes: Uint8Array;
  sha256: string;
}

/** Creates the forward session, checks it against the manifest, and derives the gradient graph. */
export async function loadClassifier(options: LoadClassifierOptions): Promise<OnnxClassifier> {
  const { engine, manifest, modelBytes } = options;
  const forward = await engine.createSession(modelBytes);
  let maxBatch: number;
  try {
    maxBatch = checkSessionAgainstManifest(forward.info.inputs, forward.info.outputs, manifest);
  } catch (error) {
    await forward.release();
    throw error;
  }
  const { input, output } = manifest;
  const { channels, height, width } = input;
  const size = channels * height * width;
  const modelDims = (n: number) =>
    input.layout === "NCHW" ? [n, channels, height, width] : [n, height, width, channels];

  async function logits(pixels: Float32Array, batch: number): Promise<Float32Array> {
    checkPixels(pixels, batch, size);
    const chunks: Float32Array[] = [];
    for (let start = 0; start < batch; start += maxBatch) {
      const n = Math.min(maxBatch, batch - start);
      const rows = pixels.subarray(start * size, (start + n) * size);
      const feed: TensorPayload = { type: "float32", data: toModelInput(rows, { n, spec: input }), dims: modelDims(n) };
      const out = await forward.run({ [input.name]: feed }, [output.name]);
      const data = out[output.name].data as Float32Array;
      chunks.push(output.kind === "probabilities" ? logitsFromProbabilities(data) : data);
    }
    return concat(chunks);
  }

  const gradientInfo: GradientInfo = { mode: "exact", unsupported: [], buildMs: {} };
  const gradientSessions = new Map<LossKind, SessionHandle>();
  const maxPool = engine.backend === "webgpu" ? "mask" : "indices";

  async function gradientSession(loss: LossKind): Promise<SessionHandle | undefined> {
    if (gradientInfo.mode === "spsa") return undefined;
    const cached = gradientSessions.get(loss);
    if (cached) return cached;
    try {
      const derived = deriveGradientModel(modelBytes, { input, output }, { loss, maxPool });
      const session = await engine.createSession(derived.bytes);
      gradientInfo.buildMs[loss] = derived.buildMs;
      gradientSessions.set(loss, session);
      return session;
    } catch (error) {
      gradientInfo.mode = "spsa";
      if (error instanceof NotDifferentiableError) gradientInfo.unsupported = [...error.opTypes];
      gradientInfo.reason = error instanceof Error ? error.message : String(error);
      return undefined;
    }
  }
  // Build the cross-entropy graph now: it decides the gradient mode reported from start-up on.
  await gradientSession("ce");

  async function gradient(
    pixels: Float32Array,
    batch: number,
    labels: Int32Array,
    loss: LossKind,
  ): Promise<GradientResult> {
    checkPixels(pixels, batch, size);
    if (labels.length !== batch) throw new RangeError(`labels has ${labels.length} rows, expected ${batch}`);
    // Refused before deriving: a derivation error would otherwise switch the model to SPSA.
    checkLossClasses(loss, manifest.labels.length);
    const session = await gradientSession(loss);
    if (!session) {
      const estimate = await spsaGradient(logits, pixels, batch, labels, loss, {
        samples: spsaSamples(size),
        delta: SPSA_DELTA,
        maxBatchRows: SPSA_MAX_BATCH_ROWS,
        seed: seedOf(pixels, labels),
      });
      return { ...estimate, mode: "spsa" };
    }
    const parts: { logits: Float32Array; loss: Float32Array; grad: Float32Array }[] = [];
    for (let start = 0; start < batch; start += maxBatch) {
      const n = Math.min(maxBatch, batch - start);
      const out = await session.run({
        pixels: {
          type: "float32",
          data: pixels.slice(start * size, (start + n) * size),
          dims: [n, channels, height, width],
        },
        labels: {
          type: "int64",
          data: BigInt64Array.from(labels.subarray(start, start + n), (v) => BigInt(v)),
          dims: [n],
        },
      }, ["logits", "loss", "grad"]);
      parts.push({
        logits: out.logits.data as Float32Array,
        loss: out.loss.data as Float32Array,
        grad: out.grad.data as Float32Array,
      });
    }
    return {
      logits: concat(parts.map((p) => p.logits)),
      loss: concat(parts.map((p) => p.loss)),
      grad: concat(parts.map((p) => p.grad)),
      mode: "exact",
    };
  }

  return {
    manifest,
    sha256: options.sha256,
    backend: engine.backend,
    get gradientMode() {
      return gradientInfo.mode;
    },
    get unsupportedOps() {
      return gradientInfo.unsupported;
    },
    gradientInfo,
    maxBatch,
    logits,
    gradient,
    async release() {
      await Promise.all([forward, ...gradientSessions.values()].map((s) => s.release()));
    },
  };
}

/**
 * The manifest must name a real input and output, and any fixed dims must match its layout.
 * Returns the largest batch the session accepts.
 */
export function checkSessionAgainstManifest(inputs: ValueInfo[], outputs: ValueInfo[], manifest: Manifest): number {
  const { input, output, labels } = manifest;
  const graphInput = inputs.find((v) => v.name === input.name);
  if (!graphInput) {
    throw new ModelSpecError(
      `input.name: the model has no input "${input.name}" (it has ${inputs.map((v) => `"${v.name}"`).join(", ")})`,
    );
  }
  if (inputs.length !== 1) {
    throw new ModelSpecError(`input.name: the model takes ${inputs.length} inputs; a classifier must take exactly one`);
  }
  if (graphInput.type !== "float32") {
    throw new ModelSpecError(`input.name: "${input.name}" is ${graphInput.type}, expected float32`);
  }
  const expected = input.layout === "NCHW"
    ? [input.channels, input.height, input.width]
    : [input.height, input.width, input.channels];
  const shape = graphInput.shape;
  if (shape.length > 0) {
    if (shape.length !== 4) {
      throw new ModelSpecError(`input.layout: "${input.name}" has rank ${shape.length}, expected 4`);
    }
    expected.forEach((dim, i) => {
      const actual = shape[i + 1];
      if (typeof actual === "number" && actual > 0 && actual !== dim) {
        throw new ModelSpecError(
          `input: the model's "${input.name}" is [${shape.join(",")}] but the manifest (${input.layout}) says [N,${
            expected.join(",")
          }]`,
        );
      }
    });
  }
  const graphOutput = outputs.find((v) => v.name === output.name);
  if (!graphOutput) {
    throw new ModelSpecError(
      `output.name: the model has no output "${output.name}" (it has ${outputs.map((v) => `"${v.name}"`).join(", ")})`,
    );
  }
  const classes = graphOutput.shape.at(-1);
  if (typeof classes === "number" && classes > 0 && classes !== labels.length) {
    throw new ModelSpecError(
      `labels: the model emits ${classes} classes but the manifest lists ${labels.length} labels`,
    );
  }
  const batchDim = shape[0];
  return typeof batchDim === "number" && batchDim > 0 ? batchDim : 64;
}

function checkPixels(pixels: Float32Array, batch: number, size: number): void {
  if (!Number.isInteger(batch) || batch < 1 || pixels.length !== batch * size) {
    throw new RangeError(`pixels has ${pixels.length} values, expected ${batch} × ${size}`);
  }
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** FNV-1a over the input bits, so an SPSA estimate depends only on what is asked. */
function seedOf(pixels: Float32Array, labels: Int32Array): number {
  let hash = 0x811c9dc5;
  for (const words of [new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length), new Uint32Array(labels)]) {
    for (let i = 0; i < words.length; i++) hash = Math.imul(hash ^ words[i], 0x01000193);
  }
  return hash >>> 0;
}
