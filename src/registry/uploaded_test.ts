import assert from "node:assert/strict";
import type { InferenceEngine, SessionHandle } from "../runtime/engine.ts";
import type { ModelCatalog, StoredModelVersion } from "../storage/models.ts";
import { openUploadedModels } from "./uploaded.ts";

const LINEAR = new URL("../../tests/fixtures/models/fashion-linear/", import.meta.url);

/** An engine whose sessions answer zeros and count how many are open. */
function countingEngine() {
  const open = new Set<SessionHandle>();
  /** While set, runs wait for it. */
  const hold: { gate?: Promise<void> } = {};
  const engine: InferenceEngine = {
    backend: "wasm",
    threads: 1,
    workers: 1,
    restarts: 0,
    killWorker: () => {},
    createSession(): Promise<SessionHandle> {
      const session: SessionHandle = {
        info: {
          inputs: [{ name: "input", type: "float32", shape: ["batch", 1, 28, 28] }],
          outputs: [{ name: "logits", type: "float32", shape: ["batch", 10] }],
        },
        run: async (_feeds, fetches) => {
          await hold.gate;
          return Object.fromEntries(fetches.map((name) => [name, {
            type: "float32" as const,
            data: new Float32Array(10),
            dims: [1, 10],
          }]));
        },
        release() {
          open.delete(session);
          return Promise.resolve();
        },
      };
      open.add(session);
      return Promise.resolve(session);
    },
    // No gradient graphs: the models load in SPSA mode, so every open session is a forward session.
    deriveGradients: () => Promise.resolve({ ok: false, reason: "a counting stub", unsupported: [] }),
    close() {},
  };
  return { engine, open, hold };
}

async function catalogOf(ids: string[]): Promise<ModelCatalog & { versions: StoredModelVersion[] }> {
  const bytes = await Deno.readFile(new URL("model.onnx", LINEAR));
  const manifest = JSON.parse(await Deno.readTextFile(new URL("manifest.json", LINEAR)));
  const versions = ids.map((id, i) => ({
    key: i + 1,
    id,
    version: 1,
    sha256: "0".repeat(64),
    bytes: bytes.length,
    manifest: { ...manifest, id },
    createdAt: new Date(0).toISOString(),
  }));
  const inspection = { maxBatch: 64, gradient: { mode: "exact", unsupported: [], buildMs: {}, check: null } };
  return {
    versions,
    list: () => Promise.resolve([...versions]),
    inspection: () => Promise.resolve(inspection),
    read: () => Promise.resolve(bytes),
    add: () => Promise.reject(new Error("not in this test")),
    remove: () => Promise.reject(new Error("not in this test")),
    collectGarbage: () => Promise.resolve(0),
    watch: () => Promise.resolve(),
  };
}

Deno.test("uploaded models: at most maxLoaded versions hold sessions; an evicted one reloads on use", async () => {
  const { engine, open } = countingEngine();
  const catalog = await catalogOf(["a", "b"]);
  const uploads = await openUploadedModels({ catalog, engine, maxLoaded: 1, pollMs: 0, isSeed: () => false });
  try {
    assert.equal(open.size, 0, "nothing loads before it is asked for");
    const a = (await uploads.acquire("a"))!;
    const perModel = open.size;
    assert.ok(perModel >= 1);
    const b = (await uploads.acquire("b"))!;
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(open.size, perModel, "a's sessions were released when b loaded");
    assert.equal((await a.logits(new Float32Array(784), 1)).length, 10);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(open.size, perModel, "a reloaded, b released");
    assert.equal((await b.logits(new Float32Array(784), 1)).length, 10);
  } finally {
    await uploads.close();
  }
  assert.equal(open.size, 0, "close releases every session");
});

Deno.test("uploaded models: a deleted version is unloaded at the next refresh and no longer acquired", async () => {
  const { engine, open } = countingEngine();
  const catalog = await catalogOf(["a"]);
  const uploads = await openUploadedModels({ catalog, engine, maxLoaded: 4, pollMs: 0, isSeed: () => false });
  try {
    const a = (await uploads.acquire("a"))!;
    assert.ok(open.size > 0);
    catalog.versions.length = 0;
    await uploads.refresh();
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(open.size, 0);
    assert.equal(await uploads.acquire("a"), undefined);
    await assert.rejects(a.logits(new Float32Array(784), 1), /version 1 was deleted/);
  } finally {
    await uploads.close();
  }
});

Deno.test("uploaded models: a version evicted while a request uses it is released when that request ends", async () => {
  const { engine, open, hold } = countingEngine();
  const catalog = await catalogOf(["a", "b"]);
  const uploads = await openUploadedModels({ catalog, engine, maxLoaded: 1, pollMs: 0, isSeed: () => false });
  try {
    const a = (await uploads.acquire("a"))!;
    const perModel = open.size;
    let finish!: () => void;
    hold.gate = new Promise((resolve) => (finish = resolve));
    const running = a.logits(new Float32Array(784), 1);
    await uploads.acquire("b");
    assert.equal(open.size, 2 * perModel, "a stays loaded while its request runs");
    finish();
    assert.equal((await running).length, 10);
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(open.size, perModel);
  } finally {
    await uploads.close();
  }
});

Deno.test("uploaded models: with sessionEngine each loaded version has an engine of its own, closed when unloaded", async () => {
  const shared = countingEngine();
  const started: { engine: InferenceEngine; open: Set<SessionHandle>; closed: boolean }[] = [];
  const sessionEngine = () => {
    const own = countingEngine();
    const entry = { engine: own.engine, open: own.open, closed: false };
    own.engine.close = () => (entry.closed = true);
    started.push(entry);
    return Promise.resolve(own.engine);
  };
  const catalog = await catalogOf(["a", "b"]);
  const uploads = await openUploadedModels({
    catalog,
    engine: shared.engine,
    maxLoaded: 1,
    pollMs: 0,
    isSeed: () => false,
    sessionEngine,
  });
  try {
    const a = (await uploads.acquire("a"))!;
    assert.equal(shared.open.size, 0, "no upload session on the shared engine");
    assert.equal(started.length, 1);
    assert.ok(started[0].open.size > 0);
    await uploads.acquire("b");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(started.map((s) => [s.open.size, s.closed]), [[0, true], [started[1].open.size, false]]);
    assert.equal((await a.logits(new Float32Array(784), 1)).length, 10, "a reloads on a new engine");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(started.length, 3);
    assert.deepEqual(started.map((s) => s.closed), [true, true, false]);
  } finally {
    await uploads.close();
  }
  assert.deepEqual(started.map((s) => s.closed), [true, true, true], "close closes every engine it started");
});
