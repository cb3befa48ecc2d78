import assert from "node:assert/strict";
import { parseManifest } from "./load_manifest.ts";
import { startWorkerPool } from "../runtime/worker_pool.ts";
import { probeClassifier } from "./probe_classifier.ts";
import { ProbeCrashError, ProbeTimeoutError, startSubprocessProber } from "./probe_in_subprocess.ts";
import { processRuns, RELU_CHAIN_MANIFEST, reluChain } from "./testing.ts";

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
    let pid: number | undefined;
    try {
      const here = await probeClassifier(engine, manifest, modelBytes, "0".repeat(64));
      assert.equal(prober.pid(), undefined, "no process before the first upload");
      const there = await prober.probe(manifest, "0".repeat(64), modelBytes);
      assert.deepEqual(stable(there), stable(here));
      pid = prober.pid();
      assert.ok(pid !== undefined && processRuns(pid), "one process, kept for the next upload");
      const again = await prober.probe(manifest, "0".repeat(64), modelBytes);
      assert.deepEqual(stable(again), stable(here));
      assert.equal(prober.pid(), pid, "the same process served it");
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
    assert.equal(prober.pid(), undefined);
    assert.ok(!processRuns(pid!), "closing ends it");
  });
}

Deno.test("probe in a subprocess: a build past the time limit is killed; an abort and a crash end it too; the next probe respawns", async () => {
  const { manifest, modelBytes } = await fashionCnn();
  const slow = reluChain(8_000);
  const prober = startSubprocessProber({ backend: "native", threads: 1 });
  const spawned: number[] = [];
  /** The process a probe runs in, once it has started. */
  const running = async () => {
    let pid: number | undefined;
    while ((pid = prober.pid()) === undefined) await new Promise((r) => setTimeout(r, 20));
    spawned.push(pid);
    return pid;
  };
  try {
    const timedOut = prober.probe(RELU_CHAIN_MANIFEST, "0".repeat(64), slow, { timeoutMs: 2_000 });
    const first = await running();
    await assert.rejects(timedOut, (e) => e instanceof ProbeTimeoutError && e.timeoutMs === 2_000);
    assert.ok(!processRuns(first), "the build was killed");
    assert.ok((await prober.probe(manifest, "0".repeat(64), modelBytes)).loaded);
    const second = await running();
    assert.notEqual(second, first, "a new process after the kill");

    const cancel = new AbortController();
    const reason = new Error("client went away");
    const aborted = prober.probe(RELU_CHAIN_MANIFEST, "0".repeat(64), slow, { signal: cancel.signal });
    setTimeout(() => cancel.abort(reason), 500);
    await assert.rejects(aborted, (e) => e === reason);
    assert.ok(!processRuns(second) && prober.pid() === undefined, "the abort killed the build");

    // A process that dies mid-build (an uncaught onnxruntime exception aborts so) is a ProbeCrashError saying how.
    const crashed = prober.probe(RELU_CHAIN_MANIFEST, "0".repeat(64), slow);
    const building = await running();
    await new Promise((r) => setTimeout(r, 500));
    Deno.kill(building, "SIGABRT");
    await assert.rejects(crashed, (e) => e instanceof ProbeCrashError && e.how === "signal SIGABRT");
    assert.ok((await prober.probe(manifest, "0".repeat(64), modelBytes)).loaded);
    const last = prober.pid();
    assert.ok(last !== undefined && last !== building && processRuns(last), "the next probe has a new process");
    spawned.push(last);
  } finally {
    await prober.close();
  }
  assert.equal(prober.pid(), undefined);
  assert.deepEqual(spawned.filter(processRuns), [], "every process it started has ended");
});
