import { RequestError } from "../errors.ts";
import type { InferenceEngine, RunOptions, SessionHandle } from "./engine.ts";
import { ownedBuffers } from "./protocol.ts";
import type {
  BackendChoice,
  BackendName,
  DerivedGradients,
  Envelope,
  OrtLogLevel,
  SessionInfo,
  SessionOptions,
  TensorPayload,
  WorkerReply,
  WorkerRequest,
} from "./protocol.ts";

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(error: Error): void;
}

/**
/**
 * Deno's Worker, captured when this module loads: a session created by onnxruntime-web on a thread replaces that
 * thread's globalThis.Worker with node:worker_threads' Worker, in which the session worker script has no `self`. The
 * server's main thread never does (the upload gradient check runs in its own Worker, src/gradcheck/check_in_worker.ts;
 * tests/architecture_test.ts keeps it so), but a process that calls `checkGradient` in-process — `cli inspect`,
 * tests, tools — does, and may spawn Workers afterwards.
 */
const DenoWorker = globalThis.Worker;

/**
 * One Deno Worker hosting sessions; requests are matched to replies by id. With `timeoutMs`, a watchdog runs while
 * requests are pending: no reply at all within it means the Worker is hung. A hung or crashed Worker is terminated, its pending
 * requests fail with 503 `worker_restarted`, and `onDeath` tells the pool to replace it.
 */
class SessionWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #dead = false;
  /** Requests sent and not yet answered: the pool sends new runs to the least loaded worker. */
  inFlight = 0;

  constructor(readonly timeoutMs: number | undefined, readonly onDeath: (reason: string) => void) {
    this.#worker = new DenoWorker(new URL("./session_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<Envelope<WorkerReply>>) => {
      const pending = this.#pending.get(event.data.id);
      this.#pending.delete(event.data.id);
      this.inFlight--;
      this.#arm();
      pending?.resolve(event.data.body);
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.kill(`session worker crashed: ${event.message}`);
    };
  }

  async request(body: WorkerRequest, transfer: Transferable[] = []): Promise<WorkerReply> {
    if (this.#dead) throw restarted();
    const id = this.#nextId++;
    this.inFlight++;
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#arm();
      this.#worker.postMessage({ id, body } satisfies Envelope<WorkerRequest>, { transfer });
    });
    if (!reply.ok) throw new Error(reply.error);
    return reply;
  }

  /** Terminates the Worker and fails what it was doing (also the test hook for a crash). */
  kill(reason: string): void {
    if (this.#dead) return;
    this.#dead = true;
    clearTimeout(this.#watchdog);
    this.#worker.terminate();
    for (const p of this.#pending.values()) p.reject(restarted());
    this.#pending.clear();
    this.inFlight = 0;
    this.onDeath(reason);
  }

  terminate(): void {
    this.#dead = true;
    clearTimeout(this.#watchdog);
    this.#worker.terminate();
  }

  /** (Re)starts the watchdog while something is pending: each reply is progress. */
  #arm(): void {
    clearTimeout(this.#watchdog);
    if (this.#pending.size === 0 || this.timeoutMs === undefined) return;
    this.#watchdog = setTimeout(() => this.kill(`no reply within ${this.timeoutMs} ms`), this.timeoutMs);
  }
}

function restarted(): RequestError {
  return new RequestError(
    503,
    "worker_restarted",
    "the inference Worker failed and is being replaced; retry the request",
    { "retry-after": "1" },
  );
}

export interface WorkerPoolOptions {
  backend: BackendChoice;
  /** onnxruntime intra-op threads per worker. */
  threads: number;
  /** Workers in the pool; every session is replicated on each. */
  workers: number;
  /** onnxruntime's own log level (default "error": its warnings are noise in logs and tests). */
  ortLogLevel?: OrtLogLevel;
  /** A Worker with pending requests and no reply for this long is replaced (default: never, no watchdog). */
  timeoutMs?: number;
  /** Called for every session run sent (metrics). */
  onRun?: () => void;
  /** Called when a Worker was replaced, with why. */
  onRestart?: (reason: string) => void;
}

/** A pool slot: its current Worker and, while it is still loading its sessions, when it will have them. */
interface Slot {
  worker: SessionWorker;
  ready?: Promise<void>;
}

/**
 * Sessions replicated across a small pool of Workers. A run goes to the least loaded worker, so concurrent requests
 * proceed in parallel and never share a WASM instance mid-run. The pool supervises its Workers: one that crashes or
 * hangs is replaced and every session is created again on the new one (requests meanwhile wait for it).
 */
export async function startWorkerPool(options: WorkerPoolOptions): Promise<InferenceEngine> {
  const timeoutMs = options.timeoutMs;
  const logLevel = options.ortLogLevel ?? "error";
  /** The model bytes and options of every live session, to recreate them on a replacement Worker. */
  const sessions = new Map<number, { bytes: Uint8Array; options?: SessionOptions }>();
  let backend: BackendName | undefined;
  let threads = options.threads;
  let restarts = 0;
  let closed = false;

  const spawn = (index: number): SessionWorker =>
    new SessionWorker(timeoutMs, (reason) => {
      restarts++;
      options.onRestart?.(reason);
      // Before the pool has started there is nothing to restore: startWorkerPool fails instead.
      if (closed || backend === undefined) return;
      const worker = spawn(index);
      const ready = (async () => {
        await worker.request({ kind: "init", backend: backend!, threads: options.threads, logLevel });
        for (const [sessionId, { bytes, options }] of sessions) {
          await worker.request({ kind: "create", sessionId, bytes: bytes.slice(), options });
        }
      })();
      // A replacement that fails to start is itself replaced by its watchdog or crash; callers see its error.
      const slot: Slot = { worker, ready };
      ready.then(() => delete slot.ready, () => {});
      slots[index] = slot;
    });

  const slots: Slot[] = Array.from({ length: Math.max(1, options.workers) }, (_, i) => ({ worker: spawn(i) }));
  try {
    for (const slot of slots) {
      const reply = await slot.worker.request({
        kind: "init",
        backend: backend ?? options.backend,
        threads: options.threads,
        logLevel,
      });
      if ("backend" in reply) ({ backend, threads } = reply);
    }
  } catch (error) {
    closed = true;
    for (const s of slots) s.worker.terminate();
    throw error;
  }
  let nextSessionId = 1;

  const leastLoaded = (): Slot => slots.reduce((a, b) => (b.worker.inFlight < a.worker.inFlight ? b : a));
  const send = async (slot: Slot, body: WorkerRequest, transfer: Transferable[] = []): Promise<WorkerReply> => {
    const { worker, ready } = slot;
    // A ready Worker gets the message now, not a microtask later: the caller's synchronous work that follows
    // (the check builds its other screening rows) then overlaps the run.
    if (ready) await ready;
    return await worker.request(body, transfer);
  };

  return {
    backend: backend!,
    /** The threads each worker really runs with (WebGPU's CPU side is single-threaded). */
    threads,
    workers: slots.length,
    get restarts() {
      return restarts;
    },
    async createSession(bytes: Uint8Array, sessionOptions?: SessionOptions): Promise<SessionHandle> {
      const sessionId = nextSessionId++;
      sessions.set(sessionId, { bytes: bytes.slice(), options: sessionOptions });
      let replies: WorkerReply[];
      try {
        replies = await Promise.all(
          slots.map((s) => send(s, { kind: "create", sessionId, bytes: bytes.slice(), options: sessionOptions })),
        );
      } catch (error) {
        sessions.delete(sessionId);
        throw error;
      }
      const info = (replies[0] as { info: SessionInfo }).info;
      return {
        info,
        async run(feeds: Record<string, TensorPayload>, fetches: string[], runOptions?: RunOptions) {
          options.onRun?.();
          const transfer = runOptions?.transferFeeds ? ownedBuffers(Object.values(feeds)) : [];
          const reply = await send(leastLoaded(), { kind: "run", sessionId, feeds, fetches }, transfer);
          return (reply as { outputs: Record<string, TensorPayload> }).outputs;
        },
        async release() {
          sessions.delete(sessionId);
          await Promise.all(slots.map((s) => send(s, { kind: "release", sessionId })));
        },
      };
    },
    async deriveGradients(request) {
      const reply = await send(leastLoaded(), { kind: "derive", ...request, bytes: request.bytes.slice() });
      return (reply as { derived: DerivedGradients }).derived;
    },
    killWorker(index: number) {
      slots[index].worker.kill("killed on request (test hook)");
    },
    close() {
      closed = true;
      for (const s of slots) s.worker.terminate();
    },
  };
}
