import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import { startWorkerPool } from "./worker_pool.ts";

Deno.test("worker pool: a Worker that sends no reply within the watchdog is terminated and its request fails with 503", async () => {
  const reasons: string[] = [];
  // Loading onnxruntime takes far longer than 1 ms: the first request (init) outlives the watchdog.
  await assert.rejects(
    startWorkerPool({ backend: "wasm", threads: 1, workers: 1, timeoutMs: 1, onRestart: (r) => reasons.push(r) }),
    (e) => e instanceof RequestError && e.status === 503 && e.code === "worker_restarted",
  );
  assert.deepEqual(reasons, ["no reply within 1 ms"]);
});
