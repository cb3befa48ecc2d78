/// <reference lib="deno.worker" />
import { NotDifferentiableError } from "../autodiff/errors.ts";
import type { CheckReply, CheckRequest } from "./check_protocol.ts";
import { checkGradient } from "./gradcheck.ts";

// One check per Worker (check_in_worker.ts spawns it and terminates it after the reply): the seconds of synchronous
// WASM work a large model takes, and onnxruntime-web's patching of globalThis.Worker, stay off the main thread.
self.onmessage = async (event: MessageEvent<CheckRequest>) => {
  const { modelBytes, spec, options } = event.data;
  let reply: CheckReply;
  try {
    reply = { ok: true, check: await checkGradient(modelBytes, spec, options) };
  } catch (error) {
    reply = error instanceof NotDifferentiableError
      ? { ok: false, notDifferentiable: error.nodes }
      : error instanceof Error
      ? { ok: false, name: error.name, message: error.message }
      : { ok: false, name: "Error", message: String(error) };
  }
  self.postMessage(reply);
};
