/// <reference lib="deno.worker" />
/**
 * Hosts onnxruntime sessions off the main thread: session creation and `run` are synchronous WASM
 * work that would otherwise stall Deno's event loop (and with it /healthz) for the whole inference.
 */
import type { InferenceSession, Tensor } from "onnxruntime-common";
import { deriveGradientModel, formulationsFor, NotDifferentiableError } from "../autodiff/mod.ts";
import type {
  BackendChoice,
  BackendName,
  DerivedGradients,
  DeriveRequest,
  Envelope,
  OrtLogLevel,
  SessionInfo,
  SessionOptions,
  TensorPayload,
  WorkerReply,
  WorkerRequest,
} from "./protocol.ts";
import { ownsBuffer } from "./protocol.ts";

interface OrtModule {
  InferenceSession: { create(bytes: Uint8Array, opts?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: "float32" | "int64", data: Float32Array | BigInt64Array, dims: number[]) => Tensor;
  env: { wasm: { numThreads?: number; simd?: boolean }; logLevel?: OrtLogLevel };
}

let ort: OrtModule | undefined;
let backend: BackendName = "wasm";
let threads = 1;
/** onnxruntime's severity as a number (0 verbose … 4 fatal), for session options. */
let logSeverity: 0 | 1 | 2 | 3 | 4 = 3;
const sessions = new Map<number, InferenceSession>();
/** Runs are serialised: one WASM instance cannot run two graphs at once. */
let queue: Promise<unknown> = Promise.resolve();

async function loadBackend(name: BackendName): Promise<OrtModule> {
  if (name === "native") return (await import("onnxruntime-node")) as unknown as OrtModule;
  if (name === "webgpu") {
    const adapter = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu
      ?.requestAdapter();
    if (!adapter) throw new Error("no WebGPU adapter is available");
    return await withoutLocation(() => import("onnxruntime-web/webgpu")) as unknown as OrtModule;
  }
  return (await import("onnxruntime-web")) as unknown as OrtModule;
}

/**
 * onnxruntime-web's browser bundle resolves its .wasm against `location.origin` when `location`
 * exists. In a Deno Worker it does, with origin "null" for file URLs, which makes the URL
 * invalid; with no `location` (as on Deno's main thread) it resolves against import.meta.url.
 */
async function withoutLocation<T>(load: () => Promise<T>): Promise<T> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "location");
  Object.defineProperty(globalThis, "location", { value: undefined, configurable: true, writable: true });
  try {
    return await load();
  } finally {
    if (descriptor) Object.defineProperty(globalThis, "location", descriptor);
  }
}

const SEVERITY: Record<OrtLogLevel, 0 | 1 | 2 | 3 | 4> = { verbose: 0, info: 1, warning: 2, error: 3, fatal: 4 };

async function init(choice: BackendChoice, threadCount: number, logLevel: OrtLogLevel): Promise<BackendName> {
  logSeverity = SEVERITY[logLevel];
  const order: BackendName[] = choice === "auto" ? ["native", "webgpu", "wasm"] : [choice];
  let lastError: unknown;
  for (const name of order) {
    try {
      ort = await loadBackend(name);
      backend = name;
      // The WebGPU build is the browser bundle, whose WASM threads are blob-URL workers that Deno
      // cannot start; its CPU side stays single-threaded (the GPU does the work).
      threads = name === "webgpu" ? 1 : threadCount;
      if (name !== "native") ort.env.wasm.numThreads = threads;
      ort.env.logLevel = logLevel;
      return name;
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

function sessionOptions(options: SessionOptions = {}): InferenceSession.SessionOptions {
  const log = { logSeverityLevel: logSeverity };
  if (backend === "native") {
    const count = Math.min(threads, options.threads ?? threads);
    // Pool threads that spin after each run steal the cores from the next session's run (a check alternates the
    // forward and gradient sessions): not spinning made the MobileNetV2 224² screen check 0.91× as long.
    const idle = { allow_spinning: "0" };
    if (options.parallel && count > 1) {
      return {
        ...log,
        executionMode: "parallel",
        intraOpNumThreads: 1,
        interOpNumThreads: count,
        extra: { session: { inter_op: idle } },
      };
    }
    const spinning = count > 1 ? { extra: { session: { intra_op: idle } } } : {};
    return { ...log, intraOpNumThreads: count, interOpNumThreads: 1, ...spinning };
  }
  if (backend === "webgpu") return { ...log, executionProviders: ["webgpu"] };
  return { ...log, executionProviders: ["wasm"] };
}

function describe(values: readonly InferenceSession.ValueMetadata[]): SessionInfo["inputs"] {
  return values.map((v) =>
    v.isTensor ? { name: v.name, shape: [...v.shape], type: v.type } : { name: v.name, shape: [], type: "non-tensor" }
  );
}

/**
 * Derives one gradient graph for every requested loss here, off the main thread (a large model takes seconds); a
 * failure decides that the model has no exact gradient.
 */
function derive(req: DeriveRequest): DerivedGradients {
  try {
    // Backward formulations measured fastest on this backend (BENCHMARKS.md, section 3).
    const formulations = formulationsFor(backend);
    const derived = deriveGradientModel(req.bytes, req.spec, { loss: req.losses, maxPool: req.maxPool, formulations });
    return { ok: true, losses: [...req.losses], bytes: derived.bytes, buildMs: derived.buildMs };
  } catch (error) {
    return {
      ok: false,
      reason: error instanceof Error ? error.message : String(error),
      unsupported: error instanceof NotDifferentiableError ? [...error.opTypes] : [],
    };
  }
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.kind) {
    case "init":
      return { ok: true, backend: await init(req.backend, req.threads, req.logLevel), threads };
    case "create": {
      if (!ort) throw new Error("worker not initialised");
      const session = await ort.InferenceSession.create(req.bytes, sessionOptions(req.options));
      sessions.set(req.sessionId, session);
      return { ok: true, info: { inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) } };
    }
    case "run": {
      const session = sessions.get(req.sessionId);
      if (!session || !ort) throw new Error(`unknown session ${req.sessionId}`);
      const feeds: Record<string, Tensor> = {};
      for (const [name, t] of Object.entries(req.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const result = await session.run(feeds, req.fetches);
      const outputs: Record<string, TensorPayload> = {};
      for (const name of req.fetches) {
        const t = result[name];
        const view = t.data as Float32Array | BigInt64Array;
        // onnxruntime-node and -web's CPU outputs are fresh buffers of their own: they move to the main thread as they
        // are. Anything else (a view into WASM memory, a GPU download buffer) is copied out.
        const data = backend !== "webgpu" && ownsBuffer(view) ? view : view.slice();
        outputs[name] = { type: t.type === "int64" ? "int64" : "float32", data, dims: [...t.dims] };
      }
      return { ok: true, outputs };
    }
    case "derive":
      return { ok: true, derived: derive(req) };
    case "release": {
      await sessions.get(req.sessionId)?.release();
      sessions.delete(req.sessionId);
      return { ok: true };
    }
  }
}

self.onmessage = (event: MessageEvent<Envelope<WorkerRequest>>) => {
  const { id, body } = event.data;
  queue = queue.then(() => handle(body)).then(
    (reply) => {
      const transfer = "outputs" in reply
        ? Object.values(reply.outputs).map((t) => t.data.buffer as ArrayBuffer)
        : "derived" in reply && reply.derived.ok
        ? [reply.derived.bytes.buffer as ArrayBuffer]
        : [];
      self.postMessage({ id, body: reply }, { transfer });
    },
    (error) =>
      self.postMessage({ id, body: { ok: false, error: error instanceof Error ? error.message : String(error) } }),
  );
};
