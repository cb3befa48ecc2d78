/**
 * Audits end to end over a real port on PGlite (in-process workers): the builtin sample with a
 * small plan, compared image by image with /check at the per-image seeds the shard runner uses;
 * SSE progress; cancel; bad datasets refused before anything is stored.
 */
import assert from "node:assert/strict";
import { zipSync } from "fflate";
import { parse } from "csv-parse/sync";
import { imageSeed } from "../src/audit/seeds.ts";
import type { CalibrationStore } from "../src/calibration/store.ts";
import { DEFAULT_CHECK_LIMITS } from "../src/check/options.ts";
import { createApp } from "../src/http/app.ts";
import type { DecodePool } from "../src/intake/decode_pool.ts";
import type { AuditService } from "../src/jobs/audits.ts";
import type { Registry } from "../src/registry/registry.ts";
import type { InferenceEngine } from "../src/runtime/engine.ts";
import { startTestServer, type TestServer } from "./support/server.ts";

const SAMPLE = new URL("../datasets/fashion-mnist-sample/", import.meta.url);

const PLAN = {
  subsample: { size: 24 },
  shardSize: 8,
  attacks: [
    { kind: "fgsm", eps: [0.05, 0.1] },
    { kind: "pgd", norm: "linf", eps: [0.05], steps: 5 },
  ],
  minimalEpsilon: false,
  squeeze: false,
  randomization: false,
  spsa: false,
  examples: 2,
};

async function post(server: TestServer, body: unknown): Promise<Response> {
  return await fetch(`${server.url}/v1/audits`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Reads SSE events until `end` (or the stream closes). */
async function readEvents(url: string): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
  const events: { event: string; data: Record<string, unknown> }[] = [];
  let buffer = "";
  for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null");
      events.push({ event, data });
    }
    if (events.at(-1)?.event === "end") break;
  }
  return events;
}

async function waitFor(server: TestServer, id: string, statuses: string[]): Promise<Record<string, unknown>> {
  for (let i = 0; i < 600; i++) {
    const view = await (await fetch(`${server.url}/v1/audits/${id}`)).json();
    if (statuses.includes(view.status)) return view;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`audit ${id} never reached ${statuses}`);
}

Deno.test({
  name: "audits: the builtin sample over HTTP equals /check image by image; SSE progress; HTML and CSV",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startTestServer();
    try {
      const created = await post(server, {
        model: "fashion-cnn",
        dataset: { builtin: "fashion-mnist-sample" },
        seed: 7,
        plan: PLAN,
      });
      assert.equal(created.status, 202);
      const audit = await created.json();
      assert.ok(["queued", "running"].includes(audit.status));
      assert.equal(audit.progress.images.total, 24);
      assert.equal(audit.progress.shards.total, 3);
      assert.equal(audit.links.report, `/v1/audits/${audit.id}/report`);

      const events = await readEvents(`${server.url}${audit.links.events}`);
      assert.equal(events.at(-1)!.event, "end");
      const progress = events.filter((e) => e.event === "progress").map((e) =>
        e.data as { progress: { images: { done: number } }; status: string }
      );
      assert.ok(progress.length >= 2, `${progress.length} progress events`);
      const done = progress.map((p) => p.progress.images.done);
      assert.deepEqual(done, [...done].sort((a, b) => a - b), "progress never goes back");
      assert.equal(progress.at(-1)!.status, "done");
      assert.equal(done.at(-1), 24);

      const view = await (await fetch(`${server.url}/v1/audits/${audit.id}`)).json();
      assert.equal(view.status, "done");
      assert.ok(view.throughput > 0 && view.etaSeconds === 0);
      assert.ok(view.progress.stagesMs.clean > 0);
      const list = await (await fetch(`${server.url}/v1/audits`)).json();
      assert.deepEqual(list.audits.map((a: { id: string }) => a.id), [audit.id]);

      const report = await (await fetch(`${server.url}${audit.links.report}`)).json();
      assert.equal(report.provenance.model.id, "fashion-cnn");
      assert.match(report.provenance.model.sha256, /^[0-9a-f]{64}$/);
      assert.equal(report.provenance.dataset.source, "builtin:fashion-mnist-sample");
      assert.equal(report.provenance.dataset.images, 24);
      assert.equal(report.provenance.seed, 7);
      assert.ok(report.provenance.started && report.provenance.finished && report.provenance.wallMs >= 0);

      // Rows are stored once per shard: exactly 24 images, each once.
      const rows = await server.storage.sql.query<{ shard: number; images: number }>(
        "SELECT shard, images FROM audit_shards WHERE audit_id = $1 ORDER BY shard",
        [audit.id],
      );
      assert.deepEqual(rows.map((r) => [Number(r.shard), Number(r.images)]), [[0, 8], [1, 8], [2, 8]]);

      const csv = parse(await (await fetch(`${server.url}${audit.links.csv}`)).text(), { columns: true }) as Record<
        string,
        string
      >[];
      const clean = csv.filter((r) => r.probe === "clean");
      assert.equal(clean.length, 24);
      assert.deepEqual(clean.map((r) => Number(r.index)), Array.from({ length: 24 }, (_, i) => i));

      // Image by image through /check at the seed the shard runner derives for that image.
      const robust = new Map<string, number>();
      let correct = 0;
      for (const row of clean) {
        const index = Number(row.index);
        const label = Number(row.label);
        const bytes = await Deno.readFile(new URL(row.name, SAMPLE));
        const form = new FormData();
        form.append("image", new Blob([bytes], { type: "image/png" }));
        form.append(
          "options",
          JSON.stringify({
            label,
            seed: imageSeed(7, index),
            squeeze: false,
            randomization: false,
            minimalEpsilon: false,
            fgsm: { eps: [0.05, 0.1] },
            pgd: [{ norm: "linf", eps: 0.05, steps: 5, randomStart: true }],
          }),
        );
        const check = await (await fetch(`${server.url}/v1/models/fashion-cnn/check`, { method: "POST", body: form }))
          .json();
        const ok = check.prediction.index === label;
        assert.equal(Number(row.prediction), check.prediction.index, `image ${index}`);
        if (ok) correct++;
        for (const p of check.probes) {
          const key = `${p.attack}-${p.norm}@${p.eps}`;
          robust.set(key, (robust.get(key) ?? 0) + (ok && !p.success ? 1 : 0));
        }
      }
      assert.equal(report.clean.accuracy.count, correct);
      assert.equal(report.clean.accuracy.total, 24);
      for (const r of report.robustness) {
        const key = `${r.kind}-${r.norm}@${r.eps}`;
        assert.equal(r.accuracy.count, robust.get(key), key);
      }
      assert.equal(report.robustness.length, robust.size);

      const html = await fetch(`${server.url}${audit.links.html}`);
      assert.match(html.headers.get("content-type") ?? "", /text\/html/);
      const page = await html.text();
      assert.ok(page.includes("<svg") && !page.includes("<script"), "inline SVG, no scripts");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "audits: DELETE cancels; running shards stop at the next batch boundary and no shard runs after",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startTestServer();
    try {
      const created = await post(server, {
        model: "fashion-cnn",
        dataset: { builtin: "fashion-mnist-sample" },
        plan: {
          ...PLAN,
          subsample: false,
          shardSize: 10,
          attacks: [{ kind: "pgd", norm: "linf", eps: [0.1], steps: 40 }],
        },
      });
      assert.equal(created.status, 202);
      const { id } = await created.json();
      await waitFor(server, id, ["running"]);
      const cancelled = await fetch(`${server.url}/v1/audits/${id}`, { method: "DELETE" });
      assert.equal(cancelled.status, 200);
      assert.equal((await cancelled.json()).status, "cancelled");
      // Let a running shard reach its boundary, then nothing more may be written.
      await new Promise((r) => setTimeout(r, 3000));
      const count = async () =>
        Number(
          (await server.storage.sql.query<{ n: number }>("SELECT count(*) AS n FROM audit_shards WHERE audit_id = $1", [
            id,
          ]))[0].n,
        );
      const after = await count();
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(await count(), after);
      assert.ok(after < 20, `${after} of 20 shards ran`);
      const view = await (await fetch(`${server.url}/v1/audits/${id}`)).json();
      assert.equal(view.status, "cancelled");
      const report = await fetch(`${server.url}/v1/audits/${id}/report`);
      assert.equal(report.status, 409);
      assert.equal((await report.json()).error.code, "report_not_ready");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "audits: bad datasets, models and plans are 4xx before anything is stored",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startTestServer();
    try {
      const png = await Deno.readFile(new URL("images/0000.png", SAMPLE));
      const b64 = btoa(String.fromCharCode(...png));
      const cases: [unknown, number, string][] = [
        [{ model: "nope", dataset: { builtin: "fashion-mnist-sample" } }, 404, "unknown_model"],
        [{ model: "fashion-cnn", dataset: { builtin: "mnist" } }, 422, "unknown_dataset"],
        [{ model: "fashion-cnn", dataset: [{ image: b64, label: "Dragon" }] }, 422, "invalid_dataset"],
        [
          { model: "fashion-cnn", dataset: { builtin: "fashion-mnist-sample" }, plan: { shardSize: 0 } },
          422,
          "invalid_plan",
        ],
        [{ model: "fashion-cnn", dataset: "x" }, 422, "invalid_request"],
      ];
      for (const [body, status, code] of cases) {
        const response = await post(server, body);
        assert.equal(response.status, status, JSON.stringify(body).slice(0, 80));
        assert.equal((await response.json()).error.code, code);
      }
      const traversal = zipSync({ "../evil/0000.png": png });
      const zipResponse = await fetch(`${server.url}/v1/audits?model=fashion-cnn`, {
        method: "POST",
        headers: { "content-type": "application/zip" },
        body: traversal,
      });
      assert.equal(zipResponse.status, 422);
      assert.equal((await zipResponse.json()).error.code, "invalid_dataset");
      const notArchive = await fetch(`${server.url}/v1/audits?model=fashion-cnn`, {
        method: "POST",
        headers: { "content-type": "application/zip" },
        body: new Uint8Array([1, 2, 3, 4]),
      });
      assert.equal(notArchive.status, 415);
      for (const table of ["audits", "datasets", "audit_shards"]) {
        const [{ n }] = await server.storage.sql.query<{ n: number }>(`SELECT count(*) AS n FROM ${table}`);
        assert.equal(Number(n), 0, table);
      }
      const missing = await fetch(`${server.url}/v1/audits/00000000-0000-0000-0000-000000000000`);
      assert.equal(missing.status, 404);
      assert.equal((await missing.json()).error.code, "unknown_audit");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("audits: clients that are not on loopback may not start or cancel audits", async () => {
  const app = createApp({
    registry: {} as Registry,
    engine: {} as InferenceEngine,
    calibrations: {} as CalibrationStore,
    decoder: {} as DecodePool,
    limits: { maxBodyBytes: 1 << 20, maxPixels: 1 << 20, maxRequestPixels: 1 << 20 },
    checkLimits: DEFAULT_CHECK_LIMITS,
    maxModelBytes: 1 << 20,
    audits: {} as AuditService,
  });
  const remote = { remoteAddr: { hostname: "203.0.113.7", port: 5000, transport: "tcp" } };
  for (const [path, method] of [["/v1/audits", "POST"], [`/v1/audits/${crypto.randomUUID()}`, "DELETE"]]) {
    const response = await app.request(path, { method, body: method === "POST" ? "{}" : undefined }, remote);
    assert.equal(response.status, 403, method);
    assert.equal((await response.json()).error.code, "forbidden");
  }
});
