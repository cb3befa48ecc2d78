import assert from "node:assert/strict";
import { parseManifest } from "./load_manifest.ts";
import { startWorkerPool } from "../runtime/worker_pool.ts";
import { probeClassifier } from "./probe_classifier.ts";
import { ProbeCrashError, ProbeTimeoutError, startSubprocessProber } from "./probe_in_subprocess.ts";
import { probeProcesses, RELU_CHAIN_MANIFEST, reluChain } from "./testing.ts";

const FASHION_CNN = new URL("../../models/fashion-cnn/", import.meta.url);

async function fashionCnn() {
  const manifest = parseManifest(await Deno.readTextFile(new URL("manifest.json", FASHION_CNN)), "fashion-cnn");
  return { manifest, modelBytes: await Deno.readFile(new URL("model.onnx", FASHION_CNN)) };
}

/** The probe's fields that do not depend on the run (build and forward times do). */
function stable(probe: Awaited<ReturnType<typeof probeClassifier>>) {
  assert.ok(probe.loaded);
  assert.ok(probe.forward.ok && probe.forward.finite);
  return { maxBatch: probe.maxBatch, mode: probe.gradient.mode, logits: probe.forward.logits };
}

for (const backend of ["native", "wasm"] as const) {
  Deno.test(`probe in a subprocess (${backend}): the same probe as on an engine in this process`, async () => {
    const { manifest, modelBytes } = await fashionCnn();
    const engine = await startWorkerPool({ backend, threads: 1, workers: 1 });
    const prober = startSubprocessProber({ backend, threads: 1 });
    try {
      const here = await probeClassifier(engine, manifest, modelBytes, "0".repeat(64));
      const there = await prober.probe(manifest, "0".repeat(64), modelBytes);
      assert.deepEqual(stable(there), stable(here));
      assert.equal(probeProcesses().length, 1, "one process, kept for the next upload");
      const again = await prober.probe(manifest, "0".repeat(64), modelBytes);
      assert.deepEqual(stable(again), stable(here));
      const mismatch = await prober.probe({ ...manifest, labels: ["a", "b"] }, "0".repeat(64), modelBytes);
      assert.deepEqual(mismatch, {
        loaded: false,
        error: "manifest_mismatch",
        message: (mismatch as { message: string }).message,
      });
    } finally {
      await prober.close();
      engine.close();
    }
    assert.deepEqual(probeProcesses(), [], "closing ends it");
  });
}

Deno.test("probe in a subprocess: a build past the time limit is killed; an abort and a crash end it too; the next probe respawns", async () => {
  const { manifest, modelBytes } = await fashionCnn();
  const slow = reluChain(8_000);
  const prober = startSubprocessProber({ backend: "native", threads: 1 });
  try {
    await assert.rejects(
      prober.probe(RELU_CHAIN_MANIFEST, "0".repeat(64), slow, { timeoutMs: 2_000 }),
      (e) => e instanceof ProbeTimeoutError && e.timeoutMs === 2_000,
    );
    assert.deepEqual(probeProcesses(), [], "the build was killed");
    assert.ok((await prober.probe(manifest, "0".repeat(64), modelBytes)).loaded);

    const cancel = new AbortController();
    const reason = new Error("client went away");
    const aborted = prober.probe(RELU_CHAIN_MANIFEST, "0".repeat(64), slow, { signal: cancel.signal });
    setTimeout(() => cancel.abort(reason), 500);
    await assert.rejects(aborted, (e) => e === reason);
    assert.deepEqual(probeProcesses(), []);

    // A process that dies mid-build (an uncaught onnxruntime exception aborts so) is a ProbeCrashError saying how.
    const crashed = prober.probe(RELU_CHAIN_MANIFEST, "0".repeat(64), slow);
    let pids: number[] = [];
    while ((pids = probeProcesses()).length === 0) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    Deno.kill(pids[0], "SIGABRT");
    await assert.rejects(crashed, (e) => e instanceof ProbeCrashError && e.how === "signal SIGABRT");
    assert.ok((await prober.probe(manifest, "0".repeat(64), modelBytes)).loaded, "the next probe has a new process");
  } finally {
    await prober.close();
  }
  assert.deepEqual(probeProcesses(), []);
});
