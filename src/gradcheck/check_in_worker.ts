/**
 * `checkGradient` in a dedicated, short-lived Deno Worker (check_worker.ts): the check of a large model is seconds of
 * synchronous onnxruntime-web (WASM) work, which on the main thread would stall every other request. One Worker per
 * check, terminated once it answers, on abort and on timeout, so none outlives its check.
 */
import type { GradientSpec } from "../autodiff/derive.ts";
import { NotDifferentiableError } from "../autodiff/errors.ts";
import type { CheckReply, CheckRequest, GradientCheck, GradientCheckOptions } from "./check_protocol.ts";

/** Deno's Worker, captured when this module loads: a caller may have run `checkGradient` on this thread already. */
const DenoWorker = globalThis.Worker;

/** The check did not answer within its time limit; its Worker was terminated. */
export class GradientCheckTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the gradient check did not finish within ${timeoutMs} ms`);
    this.name = "GradientCheckTimeoutError";
  }
}

export interface CheckInWorkerOptions {
  /** Aborting terminates the Worker; the check rejects with the signal's reason. */
  signal?: AbortSignal;
  /** No answer within this many ms terminates the Worker and rejects with GradientCheckTimeoutError. */
  timeoutMs?: number;
}

/**
 * The result of `checkGradient(modelBytes, spec, options)`, or the error it threw (a NotDifferentiableError listing
 * the same nodes; other errors keep their name and message). `modelBytes` stay usable by the caller: the Worker gets
 * a copy, transferred.
 */
export function checkGradientInWorker(
  modelBytes: Uint8Array,
  spec: GradientSpec,
  options: GradientCheckOptions = {},
  { signal, timeoutMs }: CheckInWorkerOptions = {},
): Promise<GradientCheck> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const worker = new DenoWorker(new URL("./check_worker.ts", import.meta.url), { type: "module" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => finish(() => reject(signal!.reason));
    const finish = (settle: () => void) => {
      worker.terminate();
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    };
    worker.onmessage = (event: MessageEvent<CheckReply>) => finish(() => settleWith(event.data, resolve, reject));
    worker.onerror = (event) => {
      event.preventDefault();
      finish(() => reject(new Error(`the gradient check Worker failed: ${event.message}`)));
    };
    worker.onmessageerror = () =>
      finish(() => reject(new Error("the gradient check Worker's reply could not be read")));
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => finish(() => reject(new GradientCheckTimeoutError(timeoutMs))), timeoutMs);
    }
    const { gradientModel, ...rest } = options;
    const request: CheckRequest = {
      modelBytes: modelBytes.slice(),
      spec: { input: spec.input, output: spec.output },
      options: gradientModel ? { ...rest, gradientModel: gradientModel.slice() } : rest,
    };
    const transfer = [request.modelBytes.buffer as ArrayBuffer];
    if (request.options.gradientModel) transfer.push(request.options.gradientModel.buffer as ArrayBuffer);
    worker.postMessage(request, { transfer });
  });
}

function settleWith(reply: CheckReply, resolve: (check: GradientCheck) => void, reject: (error: Error) => void): void {
  if (reply.ok) return resolve(reply.check);
  if ("notDifferentiable" in reply) return reject(new NotDifferentiableError(reply.notDifferentiable));
  const error = new Error(reply.message);
  error.name = reply.name;
  reject(error);
}
