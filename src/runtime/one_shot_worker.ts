/**
 * One job in a dedicated, short-lived Deno Worker: synchronous work on a client's bytes (a model's analysis, its
 * gradient check) that on the main thread would stall every other request. The Worker gets one message and is
 * terminated once it answers, on abort, on timeout and when it fails, so none outlives its job.
 */

/** Deno's Worker, captured when this module loads: onnxruntime-web may replace globalThis.Worker on this thread later. */
const DenoWorker = globalThis.Worker;

export interface OneShotLimits {
  /** Aborting terminates the Worker; the job rejects with the signal's reason. */
  signal?: AbortSignal;
  /** No answer within this many ms terminates the Worker and rejects with `onTimeout(timeoutMs)`. */
  timeoutMs?: number;
}

/**
 * Posts `request` (moving `transfer`) to a new Worker running `script` and resolves with its one reply. `what` names
 * the job in errors ("the gradient check").
 */
export function runInWorker<Request, Reply>(
  script: URL,
  request: Request,
  transfer: Transferable[],
  what: string,
  { signal, timeoutMs }: OneShotLimits,
  onTimeout: (timeoutMs: number) => Error,
): Promise<Reply> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const worker = new DenoWorker(script, { type: "module" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => finish(() => reject(signal!.reason));
    const finish = (settle: () => void) => {
      worker.terminate();
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    worker.onmessage = (event: MessageEvent<Reply>) => finish(() => resolve(event.data));
    worker.onerror = (event) => {
      event.preventDefault();
      finish(() => reject(new Error(`the Worker of ${what} failed: ${event.message}`)));
    };
    worker.onmessageerror = () => finish(() => reject(new Error(`the reply of ${what}'s Worker could not be read`)));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => finish(() => reject(onTimeout(timeoutMs))), timeoutMs);
    worker.postMessage(request, { transfer });
  });
}
