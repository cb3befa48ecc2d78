/**
 * Audits on a real PostgreSQL (ROBUSTCHECK_TEST_DATABASE_URL, started by .ci/run; ignored when
 * unset): an API process without workers plus `deno task worker` processes. With two workers,
 * one is killed with SIGKILL mid-audit: its shard comes back after the heartbeat timeout, every
 * image is counted exactly once, and the report equals the one a single worker produced.
 */
import assert from "node:assert/strict";
import { openPostgres } from "../src/storage/postgres.ts";
import { isolatedSchema } from "../src/storage/testing.ts";
import { startMain } from "./support/server.ts";

const POSTGRES_URL = Deno.env.get("ROBUSTCHECK_TEST_DATABASE_URL");
const ROOT = new URL("..", import.meta.url).pathname;

const PLAN = {
  subsample: { size: 48 },
  shardSize: 4,
  attacks: [{ kind: "fgsm", eps: [0.05, 0.1] }, { kind: "pgd", norm: "linf", eps: [0.05], steps: 10 }],
  minimalEpsilon: { bisectionSteps: 4, steps: 4 },
  squeeze: false,
  randomization: false,
  spsa: false,
  examples: 2,
};

function startWorker(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "worker.ts"],
    cwd: ROOT,
    env: { ROBUSTCHECK_BACKEND: "wasm", ROBUSTCHECK_THREADS: "1", ...env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const ready = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      if (buffer.includes('"msg":"worker started"')) return;
    }
    throw new Error(`worker exited: ${buffer}`);
  })();
  return { child, ready };
}

/** The report without what may differ between runs: timings and wall-clock times. */
function withoutTimings(report: Record<string, unknown>) {
  const p = report.provenance as Record<string, unknown>;
  return { ...report, provenance: { ...p, started: null, finished: null, wallMs: null, timingsMs: null } };
}

async function audit(api: string): Promise<string> {
  const response = await fetch(`${api}/v1/audits`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "fashion-cnn", dataset: { builtin: "fashion-mnist-sample" }, seed: 3, plan: PLAN }),
  });
  assert.equal(response.status, 202, await response.clone().text());
  return (await response.json()).id;
}

async function shardsDone(api: string, id: string): Promise<{ status: string; done: number }> {
  const view = await (await fetch(`${api}/v1/audits/${id}`)).json();
  return { status: view.status, done: view.progress.shards.done };
}

async function until(api: string, id: string, test: (s: { status: string; done: number }) => boolean) {
  for (let i = 0; i < 1200; i++) {
    const s = await shardsDone(api, id);
    if (test(s)) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`audit ${id}: timed out`);
}

Deno.test({
  name: POSTGRES_URL
    ? "audits (postgres): two worker processes, one killed with SIGKILL mid-audit; every image once; same report"
    : "audits (postgres, ignored: set ROBUSTCHECK_TEST_DATABASE_URL): two workers, one killed mid-audit",
  ignore: !POSTGRES_URL,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { url, drop } = await isolatedSchema(POSTGRES_URL!);
    const env = { ROBUSTCHECK_DATABASE_URL: url };
    const api = await startMain({ ...env, ROBUSTCHECK_AUDIT_WORKERS: "0" });
    const workers: ReturnType<typeof startWorker>[] = [];
    try {
      // One worker: the reference report.
      workers.push(startWorker(env));
      await workers[0].ready;
      const single = await audit(api.url);
      await until(api.url, single, (s) => s.status === "done");
      const reference = await (await fetch(`${api.url}/v1/audits/${single}/report`)).json();

      // Two workers; kill one while it holds a shard.
      workers.push(startWorker(env));
      await workers[1].ready;
      const id = await audit(api.url);
      await until(api.url, id, (s) => s.done >= 3);
      workers[0].child.kill("SIGKILL");
      await workers[0].child.status;
      const killedAt = performance.now();
      await until(api.url, id, (s) => s.status === "done");
      const recoveredMs = performance.now() - killedAt;

      const sql = await openPostgres(url, { maxConnections: 1 });
      try {
        const rows = await sql.query<{ shard: number; images: number; result: { images: { index: number }[] } }>(
          "SELECT shard, images, result FROM audit_shards WHERE audit_id = $1 ORDER BY shard",
          [id],
        );
        assert.deepEqual(rows.map((r) => Number(r.shard)), Array.from({ length: 12 }, (_, i) => i));
        const indices = rows.flatMap((r) => r.result.images.map((i) => i.index)).sort((a, b) => a - b);
        assert.deepEqual(indices, Array.from({ length: 48 }, (_, i) => i), "every image exactly once");
        const workersUsed = new Set(
          (await sql.query<{ worker: string }>("SELECT worker FROM audit_shards WHERE audit_id = $1", [id])).map((r) =>
            r.worker
          ),
        );
        assert.equal(workersUsed.size, 2, "both workers wrote shards");
      } finally {
        await sql.close();
      }
      const report = await (await fetch(`${api.url}/v1/audits/${id}/report`)).json();
      assert.deepEqual(withoutTimings(report), withoutTimings(reference));
      console.log(
        `the killed worker's shard came back and the audit finished ${(recoveredMs / 1000).toFixed(1)} s later`,
      );
    } finally {
      for (const w of workers) {
        try {
          w.child.kill("SIGKILL");
        } catch { /* already gone */ }
        await w.child.status;
        await w.child.stdout.cancel().catch(() => {});
      }
      await api.stop();
      await drop();
    }
  },
});
