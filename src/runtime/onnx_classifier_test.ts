import assert from "node:assert/strict";
import { LOSS_KINDS } from "../model/classifier.ts";
import { parseManifest } from "../registry/load_manifest.ts";
import type { InferenceEngine } from "./engine.ts";
import type { SessionOptions } from "./protocol.ts";
import { loadClassifier, SMALL_FORWARD_MS } from "./onnx_classifier.ts";
import { startWorkerPool } from "./worker_pool.ts";

const root = new URL("../../", import.meta.url);

/**
 * The real engine, counting the sessions it creates and releases (and their options) and the runs of each session
 * (`runs[i]`: the i-th session created); `delayMs` slows every run, or each session's by its options.
 */
function counting(
  engine: InferenceEngine,
  delayMs: number | ((options?: SessionOptions) => number) = 0,
): InferenceEngine & {
  created: number;
  released: number;
  derived: number;
  options: (SessionOptions | undefined)[];
  runs: number[];
} {
  const counts = {
    created: 0,
    released: 0,
    derived: 0,
    options: [] as (SessionOptions | undefined)[],
    runs: [] as number[],
  };
  return Object.assign(counts, {
    deriveGradients(request: Parameters<InferenceEngine["deriveGradients"]>[0]) {
      counts.derived++;
      return engine.deriveGradients(request);
    },
    backend: engine.backend,
    threads: engine.threads,
    workers: engine.workers,
    restarts: 0,
    killWorker: (index: number) => engine.killWorker(index),
    close: () => engine.close(),
    async createSession(bytes: Uint8Array, options?: SessionOptions) {
      const session = await engine.createSession(bytes, options);
      const index = counts.created++;
      counts.options.push(options);
      counts.runs.push(0);
      const delay = typeof delayMs === "number" ? delayMs : delayMs(options);
      return {
        info: session.info,
        async run(feeds: Parameters<typeof session.run>[0], fetches: string[]) {
          counts.runs[index]++;
          if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
          return await session.run(feeds, fetches);
        },
        async release() {
          counts.released++;
          await session.release();
        },
      };
    },
  });
}

async function load(engine: InferenceEngine, folder: string) {
  const dir = new URL(folder, root);
  const manifest = parseManifest(await Deno.readTextFile(new URL("manifest.json", dir)), "manifest.json");
  return await loadClassifier({
    engine,
    manifest,
    modelBytes: await Deno.readFile(new URL("model.onnx", dir)),
    sha256: "t",
  });
}

Deno.test("onnx classifier: one gradient session for every loss exists at load; concurrent first requests add none", async () => {
  const base = await startWorkerPool({ backend: "wasm", threads: 1, workers: 2 });
  const engine = counting(base);
  try {
    const classifier = await load(engine, "tests/fixtures/models/fashion-linear/");
    assert.equal(classifier.gradientMode, "exact");
    assert.deepEqual(Object.keys(classifier.gradientInfo.buildMs).sort(), [...LOSS_KINDS].sort());
    assert.equal(engine.created, 2, "the forward session and one gradient session that serves every loss");
    assert.equal(engine.derived, 1, "one derivation request to a Worker for all losses");
    const pixels = new Float32Array(2 * 28 * 28).fill(0.5);
    const labels = new Int32Array([0, 1]);
    const results = await Promise.all(
      LOSS_KINDS.flatMap((loss) => Array.from({ length: 4 }, () => classifier.gradient(pixels, 2, labels, loss))),
    );
    for (const r of results) assert.equal(r.mode, "exact");
    assert.equal(engine.created, 2, "no session is created on the request path");
    assert.equal(engine.derived, 1, "nothing is derived on the request path");
    await classifier.release();
    assert.equal(engine.released, engine.created, "release frees every session");
  } finally {
    base.close();
  }
});

Deno.test("onnx classifier: a model without a gradient rule is SPSA from load and keeps no gradient session", async () => {
  const base = await startWorkerPool({ backend: "wasm", threads: 1, workers: 1 });
  const engine = counting(base);
  try {
    const classifier = await load(engine, "tests/fixtures/models/fashion-atan/");
    assert.equal(classifier.gradientMode, "spsa");
    assert.deepEqual(classifier.unsupportedOps, ["Atan"]);
    assert.equal(engine.created, 1, "only the forward session");
    await classifier.release();
    assert.equal(engine.released, 1);
  } finally {
    base.close();
  }
});

Deno.test("onnx classifier on native: a model with a sub-millisecond forward runs every session on one thread", async () => {
  const base = await startWorkerPool({ backend: "native", threads: 2, workers: 1 });
  try {
    // A single Gemm: far under SMALL_FORWARD_MS on any machine (the shipped CNNs sit near it on slow ones).
    const small = counting(base);
    const classifier = await load(small, "tests/fixtures/models/fashion-linear/");
    // The probe session at full threads, then the forward and the gradient session on one thread.
    assert.deepEqual(small.options, [undefined, { threads: 1 }, { threads: 1 }]);
    assert.equal(small.released, 1, "the probe session is released");
    const pixels = new Float32Array(28 * 28).fill(0.5);
    assert.equal((await classifier.gradient(pixels, 1, new Int32Array([0]), "ce")).mode, "exact");
    await classifier.release();
    // The same model behind runs that take longer than SMALL_FORWARD_MS keeps the engine's threads, and its gradient
    // graph is tried on the parallel executor as well.
    const slow = counting(base, 2 * SMALL_FORWARD_MS);
    await (await load(slow, "models/fashion-cnn/")).release();
    assert.deepEqual(slow.options, [undefined, { threads: 2 }, { threads: 2, parallel: true }]);
  } finally {
    base.close();
  }
});

Deno.test("onnx classifier: gradientAtPrediction is the gradient at the argmax of the logits, in one session run", async () => {
  const base = await startWorkerPool({ backend: "wasm", threads: 1, workers: 1 });
  try {
    for (const folder of ["models/fashion-cnn/", "tests/fixtures/models/fashion-atan/"]) {
      const classifier = await load(base, folder);
      const pixels = Float32Array.from({ length: 3 * 28 * 28 }, (_, i) => ((i * 37) % 101) / 101);
      const copy = pixels.slice();
      const logits = await classifier.logits(pixels, 3);
      const classes = classifier.manifest.labels.length;
      const argmax = Int32Array.from([0, 1, 2], (r) => {
        const row = Array.from(logits.subarray(r * classes, (r + 1) * classes));
        return row.indexOf(Math.max(...row));
      });
      for (const loss of LOSS_KINDS) {
        const at = await classifier.gradientAtPrediction(pixels, 3, loss);
        const given = await classifier.gradient(pixels, 3, argmax, loss);
        assert.deepEqual(at.labels, argmax, `${folder} ${loss}`);
        assert.deepEqual(at.grad, given.grad, `${folder} ${loss}`);
        assert.deepEqual(at.loss, given.loss, `${folder} ${loss}`);
      }
      // The feeds sent to the Worker are the classifier's own copies: the caller's pixels stay whole.
      assert.deepEqual(pixels, copy);
      await assert.rejects(() => classifier.gradient(pixels, 3, Int32Array.of(0, -1, 2), "ce"), /labels\[1\] = -1/);
      await assert.rejects(() => classifier.gradient(pixels, 3, Int32Array.of(0, 1, classes), "ce"), RangeError);
      await classifier.release();
    }
  } finally {
    base.close();
  }
});

Deno.test("onnx classifier on native: single-row gradients run on the parallel executor only where it measured faster", async () => {
  const base = await startWorkerPool({ backend: "native", threads: 2, workers: 1 });
  try {
    const pixels = Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => ((i * 37) % 101) / 101);
    const row = pixels.subarray(0, 3 * 32 * 32);
    const labels = Int32Array.of(3, 7);
    const gradients = [];
    // Sessions: 0 forward (the threads probe, kept), 1 sequential gradient, 2 parallel gradient.
    for (const slower of ["parallel", "sequential"] as const) {
      const engine = counting(base, (o) => ((o?.parallel ?? false) === (slower === "parallel") ? 20 : 2));
      const classifier = await load(engine, "models/fashion-rgb/");
      const kept = slower === "parallel" ? "sequential" : "parallel";
      const { singleRow } = classifier.gradientInfo;
      assert.equal(singleRow?.executor, kept);
      assert.ok(singleRow.sequentialMs > 0 && singleRow.parallelMs > 0);
      assert.equal(engine.released, kept === "parallel" ? 0 : 1, "the losing session is released at load");
      const before = [...engine.runs];
      const one = await classifier.gradient(row, 1, labels.subarray(0, 1), "ce");
      const two = await classifier.gradient(pixels, 2, labels, "ce");
      const ran = engine.runs.map((n, i) => n - before[i]);
      assert.deepEqual(ran, kept === "parallel" ? [0, 1, 1] : [0, 2, 0], "batch 1 on the kept executor only");
      gradients.push({ one, two });
      await classifier.release();
      assert.equal(engine.released, engine.created);
    }
    // Either executor computes the same gradient (each kernel is the same single computation).
    assert.deepEqual(gradients[0].one.grad, gradients[1].one.grad);
    assert.deepEqual(gradients[0].one.logits, gradients[1].one.logits);
    assert.deepEqual(gradients[0].two.grad, gradients[1].two.grad);
  } finally {
    base.close();
  }
});
