import { toModelInput } from "../../kernels/preprocess.ts";
import { checkLossClasses, DLR_MIN_CLASSES } from "../../kernels/loss.ts";
import { argmax, logitsFromProbabilities } from "../../kernels/softmax.ts";
import type { Manifest } from "../model/manifest.ts";
import {
  type Classifier,
  type GradientMode,
  type GradientResult,
  LOSS_KINDS,
  type LossKind,
  PREDICTED_LABEL,
  type PredictedGradient,
} from "../model/classifier.ts";
import type { InferenceEngine, SessionHandle } from "./engine.ts";
import type { TensorPayload, ValueInfo } from "./protocol.ts";
import { spsaSamples } from "../model/gradient_cost.ts";
import { SPSA_DELTA, SPSA_MAX_BATCH_ROWS, spsaGradient } from "./spsa.ts";

/** Raised when a model and its manifest disagree; names the field at fault. */
export class ModelSpecError extends Error {}

export interface GradientInfo {
  mode: GradientMode;
  /** Op types without a gradient rule (SPSA is used then). */
  unsupported: string[];
  /** Why the exact gradient is unavailable, when it is not. */
  reason?: string;
  /** Milliseconds spent deriving the gradient graph of each loss (one graph serves them all: equal values). */
  buildMs: Partial<Record<LossKind, number>>;
  /**
   * How single-row gradients run, when it was measured at load (onnxruntime-node with several threads): the fastest
   * batch-1 run of the gradient graph on the sequential and on the parallel executor, and the one kept.
   */
  singleRow?: { executor: "sequential" | "parallel"; sequentialMs: number; parallelMs: number };
}

export interface OnnxClassifier extends Classifier {
  gradientAtPrediction(pixels: Float32Array, batch: number, loss: LossKind): Promise<PredictedGradient>;
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

/**
 * A model whose batch-1 forward takes less than this (ms) with every thread runs its native
 * sessions on one intra-op thread: its ops are too small to split, and a second spinning pool
 * thread per session only competes for the cores (BENCHMARKS.md, "native-1t").
 */
export const SMALL_FORWARD_MS = 1;

/**
 * Single-row gradients may run on a second gradient session on onnxruntime-node's parallel executor: at batch 1 the
 * kernels of mobile networks are too small to split across threads, while the backward graph has independent
 * branches (each activation's mask beside the convolutions) to run at once. It is kept when its fastest run at load
 * takes at most PARALLEL_KEEP × the sequential session's (BENCHMARKS.md: 0.63–0.97× on MobileNet, ShuffleNet and
 * MNASNet types, 1.3–1.7× on ResNets, whose large convolutions want the threads; at batch 4 and more it loses).
 */
export const PARALLEL_KEEP = 0.95;
/** A gradient session whose build took longer than this is not built a second time for the trial. */
const PARALLEL_TRIAL_MAX_BUILD_MS = 3000;
/** Timed batch-1 gradient runs per executor in the trial, alternated, after one warm-up run each. */
const PARALLEL_TRIAL_RUNS = 5;

/**
 * The fastest of `runs` batch-1 forward runs after two warm-ups (a fresh Worker's first runs are slow, and the
 * question is what the model costs, not what the machine was doing meanwhile); a run over 10 × SMALL_FORWARD_MS ends
 * it early (that model is not small), so a large model pays three forward passes at load.
 */
async function forwardMs(session: SessionHandle, feed: () => Record<string, TensorPayload>, runs = 7): Promise<number> {
  const fetches = session.info.outputs.map((o) => o.name);
  for (let i = 0; i < 2; i++) await session.run(feed(), fetches);
  let fastest = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await session.run(feed(), fetches);
    const ms = performance.now() - start;
    if (ms > 10 * SMALL_FORWARD_MS) return ms;
    fastest = Math.min(fastest, ms);
  }
  return fastest;
}

/**
 * The fastest of `runs` runs of each session on the same feeds, after one warm-up run each; the sessions take turns,
 * so that a busy moment of the machine hits them alike.
 */
async function fastestRuns(
  sessions: SessionHandle[],
  feeds: () => Record<string, TensorPayload>,
  runs: number,
): Promise<number[]> {
  const fastest = sessions.map(() => Infinity);
  for (let round = 0; round <= runs; round++) {
    for (const [i, session] of sessions.entries()) {
      const start = performance.now();
      await session.run(feeds(), session.info.outputs.map((o) => o.name), { transferFeeds: true });
      if (round > 0) fastest[i] = Math.min(fastest[i], performance.now() - start);
    }
  }
  return fastest;
}

/** Creates the forward session, checks it against the manifest, and derives the gradient graph. */
export async function loadClassifier(options: LoadClassifierOptions): Promise<OnnxClassifier> {
  const { engine, manifest, modelBytes } = options;
  let forward = await engine.createSession(modelBytes);
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
  // Only onnxruntime-node takes threads per session; WASM threads are fixed per Worker.
  let threads = engine.threads;
  if (engine.backend === "native" && threads > 1) {
    const grey = () => ({
      [input.name]: {
        type: "float32" as const,
        data: toModelInput(new Float32Array(size).fill(0.5), { n: 1, spec: input }),
        dims: modelDims(1),
      },
    });
    // A model that cannot run this probe (say a fixed batch other than 1) keeps every thread.
    if (await forwardMs(forward, grey).catch(() => Infinity) < SMALL_FORWARD_MS) {
      threads = 1;
      const single = await engine.createSession(modelBytes, { threads });
      await forward.release();
      forward = single;
    }
  }

  async function logits(pixels: Float32Array, batch: number): Promise<Float32Array> {
    checkPixels(pixels, batch, size);
    const chunks: Float32Array[] = [];
    for (let start = 0; start < batch; start += maxBatch) {
      const n = Math.min(maxBatch, batch - start);
      const rows = pixels.subarray(start * size, (start + n) * size);
      const feed: TensorPayload = { type: "float32", data: toModelInput(rows, { n, spec: input }), dims: modelDims(n) };
      const out = await forward.run({ [input.name]: feed }, [output.name], { transferFeeds: true });
      const data = out[output.name].data as Float32Array;
      chunks.push(output.kind === "probabilities" ? logitsFromProbabilities(data) : data);
    }
    return concat(chunks);
  }

  const gradientInfo: GradientInfo = { mode: "exact", unsupported: [], buildMs: {} };
  // The gradient graph (one for every loss) is derived now, at load, in a Worker: the gradient mode is fixed
  // from here on and the request path never builds (or races to build) a session.
  let gradientSession: SessionHandle | undefined;
  /** Each loss' value for the graph's `loss_kind` input. */
  const lossKind = new Map<LossKind, number>();
  const maxPool = engine.backend === "webgpu" ? "mask" : "indices";
  const derived = await engine.deriveGradients({
    bytes: modelBytes,
    spec: { input, output },
    // A model with too few classes for DLR gets no DLR graph (asking for it is a TooFewClassesError).
    losses: LOSS_KINDS.filter((loss) => loss !== "dlr" || manifest.labels.length >= DLR_MIN_CLASSES),
    maxPool,
  });
  /** The parallel-executor gradient session for single rows, when the trial kept it. */
  let singleRowSession: SessionHandle | undefined;
  const gradientFeeds = (pixels: Float32Array, labels: Int32Array, kind: number): Record<string, TensorPayload> => ({
    pixels: { type: "float32", data: pixels, dims: [labels.length, channels, height, width] },
    labels: { type: "int64", data: BigInt64Array.from(labels, (v) => BigInt(v)), dims: [labels.length] },
    loss_kind: { type: "int64", data: BigInt64Array.of(BigInt(kind)), dims: [] },
  });
  /** The parallel-executor session if it wins the trial; a trial that fails keeps the sequential one alone. */
  async function parallelTrial(sequential: SessionHandle, bytes: Uint8Array): Promise<SessionHandle | undefined> {
    let parallel: SessionHandle | undefined;
    try {
      parallel = await engine.createSession(bytes, { threads, parallel: true });
      const grey = () => gradientFeeds(new Float32Array(size).fill(0.5), Int32Array.of(PREDICTED_LABEL), 0);
      const [sequentialMs, parallelMs] = await fastestRuns([sequential, parallel], grey, PARALLEL_TRIAL_RUNS);
      const keep = parallelMs <= PARALLEL_KEEP * sequentialMs;
      gradientInfo.singleRow = { executor: keep ? "parallel" : "sequential", sequentialMs, parallelMs };
      if (keep) return parallel;
    } catch {
      // An optimisation only: whatever failed, the sequential session serves every batch as it would without it.
    }
    await parallel?.release().catch(() => {});
    return undefined;
  }
  if (derived.ok) {
    try {
      const started = performance.now();
      gradientSession = await engine.createSession(derived.bytes, { threads });
      const sessionMs = performance.now() - started;
      derived.losses.forEach((loss, i) => {
        lossKind.set(loss, i);
        gradientInfo.buildMs[loss] = derived.buildMs;
      });
      if (engine.backend === "native" && threads > 1 && sessionMs <= PARALLEL_TRIAL_MAX_BUILD_MS) {
        singleRowSession = await parallelTrial(gradientSession, derived.bytes);
      }
    } catch (error) {
      // A derived graph the backend cannot run: serve the model with SPSA rather than not at all.
      Object.assign(gradientInfo, {
        mode: "spsa",
        buildMs: {},
        reason: error instanceof Error ? error.message : String(error),
      });
    }
  } else {
    gradientInfo.mode = "spsa";
    gradientInfo.unsupported = derived.unsupported;
    gradientInfo.reason = derived.reason;
  }

  /** `labels` may hold PREDICTED_LABEL (exact sessions only: the graph resolves it, labels_used says to what). */
  async function runGradient(
    pixels: Float32Array,
    batch: number,
    labels: Int32Array,
    loss: LossKind,
  ): Promise<PredictedGradient> {
    checkPixels(pixels, batch, size);
    if (labels.length !== batch) throw new RangeError(`labels has ${labels.length} rows, expected ${batch}`);
    // Refused before the session lookup: DLR needs three classes, so a 2-class model has no DLR graph.
    checkLossClasses(loss, manifest.labels.length);
    const kind = lossKind.get(loss);
    const session = kind === undefined ? undefined : gradientSession;
    if (!session) {
      const estimate = await spsaGradient(logits, pixels, batch, labels, loss, {
        samples: spsaSamples(size),
        delta: SPSA_DELTA,
        maxBatchRows: SPSA_MAX_BATCH_ROWS,
        seed: seedOf(pixels, labels),
      });
      return { ...estimate, mode: "spsa", labels };
    }
    const parts: { logits: Float32Array; loss: Float32Array; grad: Float32Array; labels: BigInt64Array }[] = [];
    for (let start = 0; start < batch; start += maxBatch) {
      const n = Math.min(maxBatch, batch - start);
      const out = await (n === 1 ? singleRowSession ?? session : session).run(
        gradientFeeds(pixels.slice(start * size, (start + n) * size), labels.subarray(start, start + n), kind!),
        ["logits", "loss", "grad", "labels_used"],
        { transferFeeds: true },
      );
      parts.push({
        logits: out.logits.data as Float32Array,
        loss: out.loss.data as Float32Array,
        grad: out.grad.data as Float32Array,
        labels: out.labels_used.data as BigInt64Array,
      });
    }
    return {
      logits: concat(parts.map((p) => p.logits)),
      loss: concat(parts.map((p) => p.loss)),
      grad: concat(parts.map((p) => p.grad)),
      mode: "exact",
      labels: Int32Array.from(parts.flatMap((p) => Array.from(p.labels, Number))),
    };
  }

  async function gradient(
    pixels: Float32Array,
    batch: number,
    labels: Int32Array,
    loss: LossKind,
  ): Promise<GradientResult> {
    // A negative label would mean PREDICTED to the graph: gradient() takes class indices only.
    const bad = labels.findIndex((v) => !(v >= 0 && v < manifest.labels.length));
    if (bad >= 0) throw new RangeError(`labels[${bad}] = ${labels[bad]} is not a class index`);
    return await runGradient(pixels, batch, labels, loss);
  }

  async function gradientAtPrediction(pixels: Float32Array, batch: number, loss: LossKind): Promise<PredictedGradient> {
    if (gradientSession && lossKind.has(loss)) {
      return await runGradient(pixels, batch, new Int32Array(batch).fill(PREDICTED_LABEL), loss);
    }
    const labels = argmax(await logits(pixels, batch), { rows: batch, cols: manifest.labels.length });
    return await runGradient(pixels, batch, labels, loss);
  }

  return {
    manifest,
    sha256: options.sha256,
    backend: engine.backend,
    gradientMode: gradientInfo.mode,
    unsupportedOps: gradientInfo.unsupported,
    gradientInfo,
    maxBatch,
    logits,
    gradient,
    gradientAtPrediction,
    async release() {
      await Promise.all([forward, gradientSession, singleRowSession].map((s) => s?.release()));
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
