import assert from "node:assert/strict";
import { openStorage } from "./open.ts";
import { freshDataDir } from "./testing.ts";

Deno.test("audit store: a shard written twice keeps its first row; progress and completion come from the rows", async () => {
  const dataDir = await freshDataDir();
  const storage = await openStorage({ dataDir });
  try {
    const { audits } = storage;
    const bytes = new TextEncoder().encode("[]");
    const blob = "a".repeat(64);
    const dataset = {
      sha256: "d".repeat(64),
      format: "json",
      blobSha256: blob,
      builtin: null,
      bytes: 2,
      images: 3,
      counts: [3],
    };
    await audits.putDataset(dataset, bytes);
    await audits.putDataset(dataset, bytes);
    assert.deepEqual(await audits.dataset(dataset.sha256), dataset);
    assert.deepEqual(await audits.datasetBytes(dataset), bytes);
    // Dataset blobs are referenced: garbage collection keeps them.
    assert.equal(await storage.models.collectGarbage(), 0);

    const id = crypto.randomUUID();
    await audits.create({
      id,
      modelId: "m",
      modelVersion: null,
      modelSha256: "s",
      datasetSha256: dataset.sha256,
      plan: { seed: 1 },
      images: 3,
      shards: 2,
    });
    assert.equal(await audits.putShard(id, { shard: 0, images: 2, result: { n: 1 }, worker: "a", ms: 5 }), true);
    assert.equal(await audits.putShard(id, { shard: 0, images: 2, result: { n: 2 }, worker: "b", ms: 7 }), false);
    assert.equal(await audits.finishIfComplete(id), false);
    assert.deepEqual((await audits.shards(id)).map((r) => [r.shard, r.result, r.worker]), [[0, { n: 1 }, "a"]]);
    assert.equal(await audits.putShard(id, { shard: 1, images: 1, result: { n: 3 }, worker: "b", ms: 3 }), true);
    const progress = await audits.progress(id);
    assert.deepEqual([progress.shardsDone, progress.imagesDone, progress.shardMs], [2, 3, 8]);
    assert.equal(await audits.finishIfComplete(id), true);
    assert.equal(await audits.finishIfComplete(id), false);
    assert.equal(await audits.cancel(id), false, "a finished audit cannot be cancelled");
    assert.ok((await audits.get(id))!.finishedAt);
  } finally {
    await storage.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
