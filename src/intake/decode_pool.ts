import { RequestError } from "../errors.ts";
import type { DecodeReply, DecodeRequest, ImageSource } from "./decode_protocol.ts";

export type DecodeJob = Omit<DecodeRequest, "id">;

export interface DecodedPixels {
  /** One image, CHW float32 in [0,1] at the model's input size. */
  pixels: Float32Array;
  source: ImageSource;
  /** Time spent decoding in the Worker (excluding the wait for a free one). */
  decodeMs: number;
}

interface Queued {
  job: DecodeJob;
  signal?: AbortSignal;
  resolve(value: DecodedPixels): void;
  reject(error: Error): void;
}

/**
 * Deno's Worker, captured when this module loads: onnxruntime-web run on a thread replaces its globalThis.Worker with
 * node:worker_threads' Worker, whose threads have no `self`. The server's main thread no longer runs it (the upload
 * gradient check has its own Worker), but in-process `checkGradient` callers (CLI, tests, tools) still do.
 */
const DenoWorker = globalThis.Worker;

/** One decode Worker and the job it is running, if any. */
class DecodeWorker {
  readonly #worker: Worker;
  current?: Queued & { id: number };

  constructor(onReply: (self: DecodeWorker, reply: DecodeReply) => void, onCrash: (self: DecodeWorker) => void) {
    this.#worker = new DenoWorker(new URL("./decode_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (event: MessageEvent<DecodeReply>) => onReply(this, event.data);
    this.#worker.onerror = (event) => {
      event.preventDefault();
      onCrash(this);
    };
  }

  run(id: number, queued: Queued): void {
    this.current = { ...queued, id };
    const { bytes } = queued.job;
    // Transfer the bytes when they own their buffer; copy a view into a larger one.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const payload = own ? bytes : bytes.slice();
    this.#worker.postMessage({ id, ...queued.job, bytes: payload } satisfies DecodeRequest, {
      transfer: [payload.buffer as ArrayBuffer],
    });
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/**
 * A fixed number of decode Workers with a FIFO queue in front: at most `size` images are decoded at
 * once (each within its pixel limit), so decoding never blocks the main thread and its memory is
 * bounded by `size` × one image at the limit. A job whose signal is aborted is dropped: while it waits, it leaves the
 * queue; while it runs, its Worker is replaced (so a cancelled request stops costing a decode).
 * A Worker that crashes is replaced; its image gets 422 `undecodable_image`.
 */
export class DecodePool {
  readonly size: number;
  #workers: DecodeWorker[];
  readonly #queue: Queued[] = [];
  #nextId = 1;
  #closed = false;

  constructor(size: number) {
    this.size = Math.max(1, size);
    this.#workers = Array.from({ length: this.size }, () => this.#spawn());
  }

  decode(job: DecodeJob, signal?: AbortSignal): Promise<DecodedPixels> {
    if (this.#closed) return Promise.reject(new Error("the decode pool is closed"));
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const queued: Queued = { job, signal, resolve, reject };
      signal?.addEventListener("abort", () => this.#drop(queued), { once: true });
      this.#queue.push(queued);
      this.#dispatch();
    });
  }

  /** Images waiting for a free Worker. */
  get queued(): number {
    return this.#queue.length;
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#workers) {
      w.terminate();
      w.current?.reject(new Error("the decode pool is closed"));
    }
    for (const q of this.#queue.splice(0)) q.reject(new Error("the decode pool is closed"));
  }

  #spawn(): DecodeWorker {
    return new DecodeWorker((worker, reply) => this.#onReply(worker, reply), (worker) => this.#onCrash(worker));
  }

  #dispatch(): void {
    for (const worker of this.#workers) {
      if (worker.current) continue;
      let next = this.#queue.shift();
      while (next?.signal?.aborted) {
        next.reject(next.signal.reason);
        next = this.#queue.shift();
      }
      if (!next) return;
      worker.run(this.#nextId++, next);
    }
  }

  #onReply(worker: DecodeWorker, reply: DecodeReply): void {
    const job = worker.current;
    if (!job || job.id !== reply.id) return;
    worker.current = undefined;
    if (reply.ok) job.resolve({ pixels: reply.pixels, source: reply.source, decodeMs: reply.decodeMs });
    else job.reject(new RequestError(reply.status, reply.code, reply.message));
    this.#dispatch();
  }

  #drop(queued: Queued): void {
    const waiting = this.#queue.indexOf(queued);
    if (waiting >= 0) this.#queue.splice(waiting, 1);
    const running = this.#workers.find((w) => w.current?.job === queued.job);
    queued.reject(queued.signal!.reason);
    if (!running || this.#closed) return;
    running.current = undefined;
    running.terminate();
    this.#workers = this.#workers.map((w) => (w === running ? this.#spawn() : w));
    this.#dispatch();
  }

  #onCrash(worker: DecodeWorker): void {
    worker.terminate();
    worker.current?.reject(new RequestError(422, "undecodable_image", "the decoder failed on this image"));
    if (this.#closed) return;
    this.#workers = this.#workers.map((w) => (w === worker ? this.#spawn() : w));
    this.#dispatch();
  }
}
