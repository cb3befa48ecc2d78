import assert from "node:assert/strict";
import type { CalibrationStore } from "../calibration/store.ts";
import { BLOB_CHUNK_BYTES, chunkBlobStore } from "./blobs.ts";
import { CALIBRATION_CHANGES_CHANNEL, sqlCalibrationStore } from "./calibrations.ts";
import { migrate, MIGRATIONS } from "./migrations.ts";
import { LabelSetConflictError } from "./models.ts";
import { openStorage, type Storage } from "./open.ts";
import { DataDirLockedError } from "./pglite.ts";
import { freshDataDir, isolatedSchema } from "./testing.ts";

/**
 * The same storage tests on both backends: PGlite in a temporary data directory always, and a real
 * PostgreSQL when ROBUSTCHECK_TEST_DATABASE_URL is set (.ci/run starts one). Each PostgreSQL test
 * gets a schema of its own, so tests never see each other's rows.
 */
const POSTGRES_URL = Deno.env.get("ROBUSTCHECK_TEST_DATABASE_URL");

interface Backend {
  name: string;
  ignore: boolean;
  open(): Promise<{ storage: Storage; reopen(): Promise<Storage>; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "pglite",
    ignore: false,
    async open() {
      const dataDir = await freshDataDir();
      return {
        storage: await openStorage({ dataDir }),
        reopen: () => openStorage({ dataDir }),
        cleanup: () => Deno.remove(dataDir, { recursive: true }),
      };
    },
  },
  {
    name: POSTGRES_URL ? "postgres" : "postgres (ignored: set ROBUSTCHECK_TEST_DATABASE_URL)",
    ignore: !POSTGRES_URL,
    async open() {
      const { url, drop } = await isolatedSchema(POSTGRES_URL!);
      return {
        storage: await openStorage({ dataDir: "", databaseUrl: url }),
        reopen: () => openStorage({ dataDir: "", databaseUrl: url }),
        cleanup: drop,
      };
    },
  },
];

const calibration = {
  threshold: 0.25,
  targetFpr: 0.05,
  fpr: 0.04,
  count: 100,
  squeezers: ["bitDepth:1"],
  calibratedAt: "2026-12-01T00:00:00.000Z",
};

function modelBytes(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 255);
}

async function sha256Of(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function newVersion(id: string, labels: string[], bytes: Uint8Array) {
  return {
    id,
    labels,
    sha256: await sha256Of(bytes),
    modelBytes: bytes,
    manifest: { id, labels },
    inspection: (version: number) => ({ version, ok: true }),
  };
}

for (const backend of backends) {
  Deno.test({
    name: `storage (${backend.name}): migrations are recorded once and re-running them applies nothing`,
    ignore: backend.ignore,
    async fn() {
      const { storage, cleanup } = await backend.open();
      try {
        const rows = await storage.sql.query<{ version: number }>("SELECT version FROM schema_migrations");
        assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
        assert.deepEqual(await migrate(storage.sql), []);
        const newer = [...MIGRATIONS, { version: 999, name: "future", statements: ["SELECT 1"] }];
        assert.deepEqual(await migrate(storage.sql, newer), [999]);
        await assert.rejects(migrate(storage.sql), /schema is at version 999, newer than this robustcheck/);
      } finally {
        await storage.close();
        await cleanup();
      }
    },
  });

  Deno.test({
    name: `storage (${backend.name}): calibrations are keyed by model id and sha256 and survive a reopen`,
    ignore: backend.ignore,
    async fn() {
      const { storage, reopen, cleanup } = await backend.open();
      let current = storage;
      try {
        assert.equal(await current.calibrations.get("m", "a"), null);
        await current.calibrations.set("m", "a", calibration);
        await current.calibrations.set("m", "a", { ...calibration, threshold: 0.5 });
        assert.equal(await current.calibrations.get("m", "b"), null);
        await current.close();
        current = await reopen();
        assert.deepEqual(await current.calibrations.get("m", "a"), { ...calibration, threshold: 0.5 });
      } finally {
        await current.close();
        await cleanup();
      }
    },
  });

  Deno.test({
    name: `storage (${backend.name}): calibration reads are cached until a write, a NOTIFY or their age says otherwise`,
    ignore: backend.ignore,
    async fn() {
      const { storage, cleanup } = await backend.open();
      const insertBehind = (threshold: number) =>
        storage.sql.query(
          `INSERT INTO calibrations (model_id, sha256, calibration) VALUES ('m', 'a', $1)
           ON CONFLICT (model_id, sha256) DO UPDATE SET calibration = EXCLUDED.calibration`,
          [JSON.stringify({ ...calibration, threshold })],
        );
      const thresholdOf = async (store: CalibrationStore) => (await store.get("m", "a"))?.threshold ?? null;
      try {
        let clock = 0;
        const store = await sqlCalibrationStore(storage.sql, { maxAgeMs: 300, now: () => clock });
        assert.equal(await thresholdOf(store), null);
        await insertBehind(0.1);
        clock = 299;
        assert.equal(await thresholdOf(store), null, "a cached miss is served until it ages");
        clock = 300;
        assert.equal(await thresholdOf(store), 0.1, "an aged entry is read again");
        (await store.get("m", "a"))!.threshold = 99;
        assert.equal(await thresholdOf(store), 0.1, "callers get copies");
        await store.set("m", "a", { ...calibration, threshold: 0.2 });
        assert.equal(await thresholdOf(store), 0.2, "this process's write is seen at once");
        const slow = await sqlCalibrationStore(storage.sql, { maxAgeMs: 60_000 });
        assert.equal(await thresholdOf(slow), 0.2);
        await insertBehind(0.3);
        // Once a listener of our own has the NOTIFY for another model, the store's has had time to get it.
        const heard = new Promise<void>((resolve) =>
          storage.sql.listen(CALIBRATION_CHANGES_CHANNEL, (payload) => payload === "other-model" && resolve())
        );
        await new Promise((resolve) => setTimeout(resolve, 50));
        await storage.sql.query("SELECT pg_notify($1, 'other-model')", [CALIBRATION_CHANGES_CHANNEL]);
        await heard;
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(await thresholdOf(slow), 0.2, "a NOTIFY for another model leaves this one's entries");
        await storage.sql.query("SELECT pg_notify($1, 'm')", [CALIBRATION_CHANGES_CHANNEL]);
        const deadline = Date.now() + 5000;
        while (await thresholdOf(slow) !== 0.3 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(await thresholdOf(slow), 0.3, "a NOTIFY clears the cache long before its age would");
      } finally {
        await storage.close();
        await cleanup();
      }
    },
  });

  Deno.test({
    name: `storage (${backend.name}): model versions number up, keep their labels, delete and collect their bytes`,
    ignore: backend.ignore,
    async fn() {
      const { storage, reopen, cleanup } = await backend.open();
      let current = storage;
      try {
        const { models } = current;
        const first = modelBytes(3 * BLOB_CHUNK_BYTES + 17, 1);
        const v1 = await models.add(await newVersion("m", ["a", "b"], first));
        const v2 = await models.add(await newVersion("m", ["a", "b"], modelBytes(100, 2)));
        assert.deepEqual([v1.version, v2.version], [1, 2]);
        assert.notEqual(v1.key, v2.key);
        assert.deepEqual(await models.read(v1.sha256), first);
        assert.deepEqual(await models.inspection("m", 2), { version: 2, ok: true });
        await assert.rejects(
          models.add(await newVersion("m", ["a", "c"], modelBytes(10, 3))),
          (e) => e instanceof LabelSetConflictError && /already exists with the labels \[a, b\]/.test(e.message),
        );
        assert.deepEqual((await models.list()).map((v) => v.version), [1, 2]);

        // Same bytes under a second id: deleting one reference keeps them for the other.
        const shared = await models.add(await newVersion("n", ["x", "y"], first));
        assert.equal(await models.remove("m", 1), true);
        assert.equal(await models.remove("m", 1), false);
        assert.deepEqual(await models.read(shared.sha256), first);
        assert.equal(await models.remove("n", 1), true);
        await assert.rejects(models.read(shared.sha256));

        // Versions are never reused, and the restart keeps what is stored.
        const v3 = await models.add(await newVersion("m", ["a", "b"], modelBytes(50, 4)));
        assert.equal(v3.version, 3);
        await current.close();
        current = await reopen();
        assert.deepEqual((await current.models.list()).map((v) => `${v.id}@${v.version}`), ["m@2", "m@3"]);
        // Deleting every version frees the id for another label set.
        await current.models.remove("m", 2);
        await current.models.remove("m", 3);
        const fresh = await current.models.add(await newVersion("m", ["p", "q", "r"], modelBytes(10, 5)));
        assert.equal(fresh.version, 1);
        assert.equal(await current.models.collectGarbage(), 0);
      } finally {
        await current.close();
        await cleanup();
      }
    },
  });

  Deno.test({
    name: `storage (${backend.name}): watchers hear of added and deleted versions`,
    ignore: backend.ignore,
    async fn() {
      const { storage, reopen, cleanup } = await backend.open();
      // A second client on the same database stands in for another process (PGlite: the same one).
      const other = backend.name === "pglite" ? storage : await reopen();
      try {
        const heard: string[] = [];
        let wake = () => {};
        await other.models.watch(() => {
          heard.push("change");
          wake();
        });
        const next = () => new Promise<void>((resolve) => (wake = resolve));
        let pending = next();
        await storage.models.add(await newVersion("w", ["a", "b"], modelBytes(10, 1)));
        await pending;
        pending = next();
        await storage.models.remove("w", 1);
        await pending;
        assert.deepEqual(heard, ["change", "change"]);
      } finally {
        if (other !== storage) await other.close();
        await storage.close();
        await cleanup();
      }
    },
  });

  Deno.test({
    name: `storage (${backend.name}): concurrent migrations and uploads of one id serialise`,
    ignore: backend.ignore,
    async fn() {
      const { storage, cleanup } = await backend.open();
      try {
        await Promise.all([migrate(storage.sql), migrate(storage.sql), migrate(storage.sql)]);
        const added = await Promise.all(
          [1, 2, 3, 4].map(async (seed) => storage.models.add(await newVersion("c", ["a", "b"], modelBytes(64, seed)))),
        );
        assert.deepEqual(added.map((v) => v.version).sort(), [1, 2, 3, 4]);
      } finally {
        await storage.close();
        await cleanup();
      }
    },
  });
}

Deno.test("storage: chunked bytes are stored in rows of at most BLOB_CHUNK_BYTES", async () => {
  const dataDir = await freshDataDir();
  const storage = await openStorage({ dataDir });
  try {
    const blobs = chunkBlobStore(storage.sql);
    const bytes = modelBytes(2 * BLOB_CHUNK_BYTES + 5, 9);
    const sha256 = await sha256Of(bytes);
    await storage.sql.transaction((tx) => blobs.put(sha256, bytes, tx));
    const sizes = await storage.sql.query<{ size: number }>(
      "SELECT length(data) AS size FROM blob_chunks WHERE sha256 = $1 ORDER BY part",
      [sha256],
    );
    assert.deepEqual(sizes.map((s) => s.size), [BLOB_CHUNK_BYTES, BLOB_CHUNK_BYTES, 5]);
    assert.deepEqual(await blobs.get(sha256), bytes);
    assert.deepEqual(await storage.sql.transaction((tx) => blobs.orphans(tx)), [sha256]);
  } finally {
    await storage.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("storage (pglite): a second open of one data directory is refused until the first closes", async () => {
  const dataDir = await freshDataDir();
  const first = await openStorage({ dataDir });
  try {
    await assert.rejects(
      openStorage({ dataDir }),
      (e) => e instanceof DataDirLockedError && e.message.includes(`uses the data directory ${dataDir}`),
    );
  } finally {
    await first.close();
  }
  const again = await openStorage({ dataDir });
  await again.close();
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test({
  name: "storage (postgres): a calibration written by one process is read by another, which had cached the miss",
  ignore: !POSTGRES_URL,
  async fn() {
    const { url, drop } = await isolatedSchema(POSTGRES_URL!);
    const writer = await openStorage({ dataDir: "", databaseUrl: url });
    const reader = await openStorage({ dataDir: "", databaseUrl: url });
    try {
      assert.equal(await reader.calibrations.get("m", "a"), null);
      await writer.calibrations.set("m", "a", { ...calibration, threshold: 0.4 });
      // Well inside the cache's 10 s age: only the NOTIFY can make the reader look again.
      const deadline = Date.now() + 5000;
      while (await reader.calibrations.get("m", "a") === null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal((await reader.calibrations.get("m", "a"))?.threshold, 0.4);
    } finally {
      await writer.close();
      await reader.close();
      await drop();
    }
  },
});
