/**
 * Start-up backend selection that fails soft. A backend "starts" only when a tiny model really
 * runs on it: onnxruntime-web's threaded WASM loads fine on Deno 2.5 (Deno Deploy's runtime) and
 * then crashes in its pthread worker on the first session ("Maximum call stack size exceeded"),
 * so loading the module proves nothing. Candidates are tried in order; the first one that runs
 * the probe serves, and /readyz and the log say which one and why.
 */
import { DataType, encodeModel } from "../autodiff/proto.ts";
import type { InferenceEngine } from "./engine.ts";
import type { BackendChoice, BackendName } from "./protocol.ts";
import { startWorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";

/** One way of running sessions that start-up may try. */
export interface EngineCandidate {
  backend: BackendName;
  threads: number;
}

/** A candidate that was tried and could not run the probe model. */
export interface FailedAttempt extends EngineCandidate {
  error: string;
}

/** What start-up chose, and why (served by /readyz, written to the log). */
export interface EngineSelection {
  backend: BackendName;
  threads: number;
  /** One sentence: the configured choice, or the fallback and what it fell back from. */
  reason: string;
  /** Candidates tried before the one in use, with why each failed. */
  failed: FailedAttempt[];
}

/** Raised when no candidate can run the probe model: nothing can serve. */
export class NoBackendError extends Error {
  constructor(readonly failed: FailedAttempt[]) {
    super(
      `no inference backend could start: ${failed.map((f) => `${describe(f)}: ${f.error}`).join("; ")}`,
    );
  }
}

/**
 * The candidates in the order start-up tries them: under `auto` native, then WebGPU, then WASM;
 * threaded WASM is always followed by single-threaded WASM. WebGPU's CPU side is single-threaded.
 */
export function engineCandidates(choice: BackendChoice, threads: number): EngineCandidate[] {
  const backends: BackendName[] = choice === "auto" ? ["native", "webgpu", "wasm"] : [choice];
  const out: EngineCandidate[] = [];
  for (const backend of backends) {
    if (backend === "webgpu") out.push({ backend, threads: 1 });
    else out.push({ backend, threads });
    if (backend === "wasm" && threads > 1) out.push({ backend, threads: 1 });
  }
  return out;
}

/** How long the probe may take before its candidate counts as hung (a stuck pthread pool). */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * Starts the first candidate that runs the probe model; throws NoBackendError if none does.
 * `start` is the pool constructor (tests pass one that fails on purpose).
 */
export async function selectEngine(
  options: WorkerPoolOptions,
  log: (line: string) => void = console.log,
  start: (options: WorkerPoolOptions) => Promise<InferenceEngine> = startWorkerPool,
): Promise<{ engine: InferenceEngine; selection: EngineSelection }> {
  const failed: FailedAttempt[] = [];
  for (const candidate of engineCandidates(options.backend, options.threads)) {
    let engine: InferenceEngine | undefined;
    try {
      engine = await start({ ...options, backend: candidate.backend, threads: candidate.threads });
      await withTimeout(runProbe(engine), PROBE_TIMEOUT_MS, "the probe model did not finish");
      const selection = {
        backend: engine.backend,
        threads: engine.threads,
        reason: describeChoice(options, candidate, failed),
        failed,
      };
      if (failed.length > 0) log(`backend fallback: ${selection.reason}`);
      return { engine, selection };
    } catch (error) {
      engine?.close();
      // One line: a crashed Worker's message is a multi-line object dump.
      const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").slice(0, 400);
      failed.push({ ...candidate, error: message });
      log(`backend ${describe(candidate)} cannot start: ${message}`);
    }
  }
  throw new NoBackendError(failed);
}

function describeChoice(options: WorkerPoolOptions, chosen: EngineCandidate, failed: FailedAttempt[]): string {
  const asked = options.backend === "auto"
    ? "ROBUSTCHECK_BACKEND=auto"
    : `ROBUSTCHECK_BACKEND=${options.backend}, ROBUSTCHECK_THREADS=${options.threads}`;
  if (failed.length === 0) {
    return chosen.threads === options.threads
      ? `${asked}: ${describe(chosen)} started`
      : `${asked}: ${chosen.backend} runs its CPU side on 1 thread`;
  }
  const tried = failed.map((f) => `${describe(f)} (${f.error})`).join("; ");
  return `${asked}: fell back to ${describe(chosen)} because ${tried} could not start`;
}

function describe(candidate: EngineCandidate): string {
  return `${candidate.backend} with ${candidate.threads} thread${candidate.threads === 1 ? "" : "s"}`;
}

/** A 16→16 MatMul + Relu: small, but it starts the backend's thread pool like a real model. */
function probeModelBytes(): Uint8Array {
  const n = 16;
  const weights = Array.from({ length: n * n }, (_, i) => ((i * 7) % 5) / 5 - 0.4);
  const tensorType = (dims: number[]) => ({
    tensor_type: { elem_type: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } },
  });
  return encodeModel({
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    producer_name: "robustcheck start-up probe",
    functions: [],
    graph: {
      name: "probe",
      node: [
        { op_type: "MatMul", input: ["x", "w"], output: ["h"], attribute: [] },
        { op_type: "Relu", input: ["h"], output: ["y"], attribute: [] },
      ],
      initializer: [{
        name: "w",
        dims: [n, n],
        data_type: DataType.FLOAT,
        float_data: weights,
        int32_data: [],
        int64_data: [],
        double_data: [],
        uint64_data: [],
        string_data: [],
        external_data: [],
      }],
      sparse_initializer: [],
      input: [{ name: "x", type: tensorType([4, n]) }],
      output: [{ name: "y", type: tensorType([4, n]) }],
      value_info: [],
    },
  });
}

async function runProbe(engine: InferenceEngine): Promise<void> {
  const session = await engine.createSession(probeModelBytes());
  try {
    const x = Float32Array.from({ length: 64 }, (_, i) => (i % 9) / 9);
    const { y } = await session.run({ x: { type: "float32", data: x, dims: [4, 16] } }, ["y"]);
    if (y.data.length !== 64 || !(y.data as Float32Array).every(Number.isFinite)) {
      throw new Error("the probe model returned a wrong result");
    }
  } finally {
    await session.release();
  }
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${message} within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
