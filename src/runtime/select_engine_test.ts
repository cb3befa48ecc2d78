import assert from "node:assert/strict";
import type { InferenceEngine } from "./engine.ts";
import { engineCandidates, NoBackendError, selectEngine } from "./select_engine.ts";
import { startWorkerPool, type WorkerPoolOptions } from "./worker_pool.ts";

Deno.test("engineCandidates: auto tries native, WebGPU, threaded then single-threaded WASM", () => {
  assert.deepEqual(engineCandidates("auto", 4), [
    { backend: "native", threads: 4 },
    { backend: "webgpu", threads: 1 },
    { backend: "wasm", threads: 4 },
    { backend: "wasm", threads: 1 },
  ]);
  assert.deepEqual(engineCandidates("wasm", 1), [{ backend: "wasm", threads: 1 }]);
  assert.deepEqual(engineCandidates("native", 2), [{ backend: "native", threads: 2 }]);
});

Deno.test("selectEngine: threaded WASM that crashes on its first session falls back to one thread and says why", async () => {
  const lines: string[] = [];
  // Starts like Deno 2.5's threaded build: the pool comes up, the first session dies.
  const start = async (options: WorkerPoolOptions): Promise<InferenceEngine> => {
    const engine = await startWorkerPool(options);
    if (options.threads === 1) return engine;
    return {
      ...engine,
      createSession: () => Promise.reject(new Error("session worker failed:\n  Maximum call stack size exceeded")),
    };
  };
  const { engine, selection } = await selectEngine(
    { backend: "wasm", threads: 2, workers: 1 },
    (l) => lines.push(l),
    start,
  );
  try {
    assert.equal(engine.threads, 1);
    assert.deepEqual({ backend: selection.backend, threads: selection.threads }, { backend: "wasm", threads: 1 });
    assert.deepEqual(selection.failed, [
      { backend: "wasm", threads: 2, error: "session worker failed: Maximum call stack size exceeded" },
    ]);
    assert.match(
      selection.reason,
      /fell back to wasm with 1 thread because wasm with 2 threads \(session worker failed/,
    );
    assert.ok(lines.some((l) => l.startsWith("backend fallback: ")), lines.join("\n"));
  } finally {
    engine.close();
  }
});

Deno.test("selectEngine: the configured backend that starts is used as is", async () => {
  const { engine, selection } = await selectEngine({ backend: "wasm", threads: 1, workers: 1 }, () => {});
  try {
    assert.deepEqual(selection.failed, []);
    assert.equal(selection.reason, "ROBUSTCHECK_BACKEND=wasm, ROBUSTCHECK_THREADS=1: wasm with 1 thread started");
  } finally {
    engine.close();
  }
});

Deno.test("selectEngine: when nothing starts, the error lists every attempt", async () => {
  const start = (options: WorkerPoolOptions) => Promise.reject(new Error(`no ${options.backend} here`));
  await assert.rejects(
    selectEngine({ backend: "auto", threads: 2, workers: 1 }, () => {}, start),
    (error: unknown) => {
      assert.ok(error instanceof NoBackendError);
      assert.equal(error.failed.length, 4);
      assert.match(error.message, /native with 2 threads: no native here; webgpu with 1 thread: no webgpu here;/);
      return true;
    },
  );
});
