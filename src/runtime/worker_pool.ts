import type { InferenceEngine, SessionHandle } from "./engine.ts";
import type {
  BackendChoice,
  BackendName,
  DerivedGradients,
  Envelope,
  SessionInfo,
  TensorPayload,
  WorkerReply,
  WorkerRequest,
} from "./protocol.ts";

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

/**
 * Deno's Worker, captured when this module loads: onnxruntime-web initialised on the main thread
 * (src/runtime/gradcheck.ts) replaces globalThis.Worker with node:worker_threads' Worker, in
 * which the session worker script has no `self`.
 */
const DenoWorker = globalThis.Worker;

/** One Deno Worker hosting sessions; requests are matched to replies by id. */
class SessionWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  /** Requests sent and not yet answered: the pool sends new runs to the least loaded worker. */
  inFlight = 0;

  constructor() {
    this.#worker = new DenoWorker(new URL("./session_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<Envelope<WorkerReply>>) => {
      const pending = this.#pending.get(event.data.id);
      this.#pending.delete(event.data.id);
      this.inFlight--;
      pending?.resolve(event.data.body);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      const error = new Error(`session worker failed: ${event.message}`);
      for (const p of this.#pending.values()) p.reject(error);
      this.#pending.clear();
    };
  }

  async request(body: WorkerRequest, transfer: Transferable[] = []): Promise<WorkerReply> {
    const id = this.#nextId++;
    this.inFlight++;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, body } satisfies Envelope<WorkerRequest>, { transfer });
    });
    if (!reply.ok) throw new Error(reply.error);
    return reply;
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

export interface WorkerPoolOptions {
  backend: BackendChoice;
  /** onnxruntime intra-op threads per worker. */
  threads: number;
  /** Workers in the pool; every session is replicated on each. */
  workers: number;
}

/**
 * Sessions replicated across a small pool of Workers. A run goes to the least loaded worker, so
 * concurrent requests proceed in parallel and never share a WASM instance mid-run.
 */
export async function startWorkerPool(options: WorkerPoolOptions): Promise<InferenceEngine> {
  const workers = Array.from({ length: Math.max(1, options.workers) }, () => new SessionWorker());
  let backend: BackendName | undefined;
  let threads = options.threads;
  try {
    for (const worker of workers) {
      const reply = await worker.request({
        kind: "init",
        backend: backend ?? options.backend,
        threads: options.threads,
      });
      if ("backend" in reply) ({ backend, threads } = reply);
    }
  } catch (error) {
    for (const w of workers) w.terminate();
    throw error;
  }
  let nextSessionId = 1;

  return {
    backend: backend!,
    /** The threads each worker really runs with (WebGPU's CPU side is single-threaded). */
    threads,
    workers: workers.length,
    async createSession(bytes: Uint8Array): Promise<SessionHandle> {
      const sessionId = nextSessionId++;
      const replies = await Promise.all(
        workers.map((w) => w.request({ kind: "create", sessionId, bytes: bytes.slice() })),
      );
      const info = (replies[0] as { info: SessionInfo }).info;
      return {
        info,
        async run(feeds: Record<string, TensorPayload>, fetches: string[]) {
          const worker = workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
          const reply = await worker.request({ kind: "run", sessionId, feeds, fetches });
          return (reply as { outputs: Record<string, TensorPayload> }).outputs;
        },
        async release() {
          await Promise.all(workers.map((w) => w.request({ kind: "release", sessionId })));
        },
      };
    },
    async deriveGradients(request) {
      const worker = workers.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
      const reply = await worker.request({ kind: "derive", ...request, bytes: request.bytes.slice() });
      return (reply as { derived: DerivedGradients }).derived;
    },
    close() {
      for (const w of workers) w.terminate();
    },
  };
}
