/**
 * `checkGradient` in a dedicated, short-lived Deno Worker (check_worker.ts, runtime/one_shot_worker.ts): the check of
 * a large model is seconds of synchronous onnxruntime-web (WASM) work, which on the main thread would stall every other
 * request.
 */
import type { GradientSpec } from "../autodiff/derive.ts";
import { NotDifferentiableError } from "../autodiff/errors.ts";
import { type OneShotLimits, runInWorker } from "../runtime/one_shot_worker.ts";
import type { CheckReply, CheckRequest, GradientCheck, GradientCheckOptions } from "./check_protocol.ts";

/** The check did not answer within its time limit; its Worker was terminated. */
export class GradientCheckTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the gradient check did not finish within ${timeoutMs} ms`);
    this.name = "GradientCheckTimeoutError";
  }
}

export type CheckInWorkerOptions = OneShotLimits;

/**
 * The result of `checkGradient(modelBytes, spec, options)`, or the error it threw (a NotDifferentiableError listing
 * the same nodes; other errors keep their name and message). `modelBytes` stay usable by the caller: the Worker gets
 * a copy, transferred.
 */
export async function checkGradientInWorker(
  modelBytes: Uint8Array,
  spec: GradientSpec,
  options: GradientCheckOptions = {},
  limits: CheckInWorkerOptions = {},
): Promise<GradientCheck> {
  const { gradientModel, ...rest } = options;
  const request: CheckRequest = {
    modelBytes: modelBytes.slice(),
    spec: { input: spec.input, output: spec.output },
    options: gradientModel ? { ...rest, gradientModel: gradientModel.slice() } : rest,
  };
  const transfer = [request.modelBytes.buffer as ArrayBuffer];
  if (request.options.gradientModel) transfer.push(request.options.gradientModel.buffer as ArrayBuffer);
  const script = new URL("./check_worker.ts", import.meta.url);
  const reply = await runInWorker<CheckRequest, CheckReply>(
    script,
    request,
    transfer,
    "the gradient check",
    limits,
    (ms) => new GradientCheckTimeoutError(ms),
  );
  return settle(reply);
}

function settle(reply: CheckReply): GradientCheck {
  if (reply.ok) return reply.check;
  if ("notDifferentiable" in reply) throw new NotDifferentiableError(reply.notDifferentiable);
  const error = new Error(reply.message);
  error.name = reply.name;
  throw error;
}
