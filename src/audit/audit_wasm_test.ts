/**
 * The building blocks together on a shipped model through the real runtime (WASM backend, derived
 * exact gradients): the builtin dataset → plan → shards → report → HTML in headless Chromium.
 * The screenshot goes to tests/.cache/audit-report.png (not committed).
 */
import assert from "node:assert/strict";
import puppeteer from "puppeteer-core";
import { decodeDatasetImage, readDataset } from "../dataset/mod.ts";
import { ManifestSchema } from "../registry/manifest.ts";
import { loadClassifier, type OnnxClassifier } from "../runtime/onnx_classifier.ts";
import { startWorkerPool } from "../runtime/worker_pool.ts";
import { sha256Hex } from "../dataset/sha256.ts";
import { parse } from "csv-parse/sync";
import { auditRowsCsv } from "./csv.ts";
import { percent, renderReportHtml } from "./html.ts";
import { type EffectivePlan, resolvePlan, selectImages, shardCount, shardRange, spsaSample } from "./plan.ts";
import { buildReport } from "./report.ts";
import { AuditReportSchema } from "./report_schema.ts";
import type { ShardResult } from "./rows.ts";
import { checkLikeAudit } from "./testdata/check_like_audit.ts";
import { runShard, type ShardImage } from "./shard.ts";

const ROOT = new URL("../../", import.meta.url);
const CACHE = new URL("tests/.cache/", ROOT);

async function loadModel(dir: string, engine: Awaited<ReturnType<typeof startWorkerPool>>): Promise<OnnxClassifier> {
  const manifest = ManifestSchema.parse(JSON.parse(await Deno.readTextFile(new URL(`${dir}/manifest.json`, ROOT))));
  const modelBytes = await Deno.readFile(new URL(`${dir}/model.onnx`, ROOT));
  return await loadClassifier({ engine, manifest, modelBytes, sha256: await sha256Hex(modelBytes) });
}

async function runAudit(classifier: OnnxClassifier, plan: EffectivePlan, images: ShardImage[]): Promise<ShardResult[]> {
  const sample = new Set(spsaSample(plan, images.map((i) => i.label)));
  const out: ShardResult[] = [];
  for (let k = shardCount(plan, images.length) - 1; k >= 0; k--) {
    const [a, b] = shardRange(plan, images.length, k);
    out.push(await runShard({ classifier, plan, shard: k, images: images.slice(a, b), spsaSample: sample }));
  }
  return out;
}

Deno.test({
  name: "audit on fashion-cnn (WASM): shard-independent rows, /check agreement, report, HTML in Chromium",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const engine = await startWorkerPool({ backend: "wasm", threads: 2, workers: 1 });
    try {
      const classifier = await loadModel("models/fashion-cnn", engine);
      const facts = { manifest: classifier.manifest, gradientMode: classifier.gradientMode };
      const dataset = await readDataset({ kind: "builtin", name: "fashion-mnist-sample" }, classifier.manifest.labels);
      const plan = resolvePlan(facts, {
        seed: 7,
        shardSize: 8,
        subsample: { size: 24 },
        attacks: [
          { kind: "fgsm", eps: [0.05, 0.1, 0.2] },
          { kind: "pgd", norm: "linf", eps: [0.05, 0.1], steps: 8 },
          { kind: "pgd", norm: "l2", eps: [1.0], steps: 8 },
        ],
        minimalEpsilon: { bisectionSteps: 5, steps: 5 },
        randomization: { draws: 8, eot: { steps: 3, samples: 2 } },
        spsa: { images: 3, steps: 3, samples: 64 },
        examples: 6,
      });
      const chosen = selectImages(plan, dataset.images.map((i) => i.label));
      assert.equal(chosen.length, 24);
      const images: ShardImage[] = await Promise.all(chosen.map(async (d, index) => {
        const item = dataset.images[d];
        const decoded = await decodeDatasetImage(item, classifier.manifest.input, 1e6);
        return { index, name: item.name, label: item.label, pixels: decoded.pixels, error: decoded.error };
      }));

      const shards = await runAudit(classifier, plan, images);
      // The same images in shards of another size: every image's rows are unchanged.
      const reSharded = await runAudit(classifier, { ...plan, shardSize: 5 }, images);
      const rowsOf = (results: ShardResult[]) => ({
        images: results.flatMap((r) => r.images).sort((a, b) => a.index - b.index),
        attacks: results.flatMap((r) => r.attacks).sort((a, b) => a.index - b.index),
      });
      assert.deepEqual(rowsOf(reSharded), rowsOf(shards));

      // Per image, the numbers equal /check's with seed imageSeed(seed, index) and the same probes.
      const all = rowsOf(shards);
      for (const img of images.slice(0, 4)) {
        const check = await checkLikeAudit(plan, facts, classifier, img);
        const row = all.images[img.index];
        assert.equal(row.clean!.prediction, check.prediction.index);
        assert.equal(row.squeeze, check.squeeze!.joint);
        assert.equal(row.randomization!.agreement, check.randomization!.agreement);
        assert.equal(row.randomization!.eot!.fooledFraction, check.randomization!.eot!.fooledFraction);
        assert.equal(row.minimalEpsilon!.epsilon, check.minimalEpsilon!.linf);
        const attacks = all.attacks.filter((r) => r.index === img.index && !r.blackBox);
        assert.deepEqual(
          attacks.map((a) => [a.eps, a.success, a.iterations, a.prediction]),
          check.probes.map((p) => [p.eps, p.success, p.iterations, p.adversarial.index]),
        );
      }

      const report = buildReport({
        plan,
        shards: [...shards].reverse(),
        model: {
          id: classifier.manifest.id,
          sha256: classifier.sha256,
          manifest: classifier.manifest,
          backend: classifier.backend,
          gradientMode: classifier.gradientMode,
        },
        dataset: { sha256: dataset.sha256, source: "builtin:fashion-mnist-sample", images: dataset.images.length },
        software: { deno: Deno.version.deno },
      });
      AuditReportSchema.parse(report);
      assert.equal(report.images.evaluated, 24);
      const { timingsMs: _t, ...provenance } = report.provenance;
      const again = buildReport({
        plan,
        shards: reSharded,
        model: {
          id: classifier.manifest.id,
          sha256: classifier.sha256,
          manifest: classifier.manifest,
          backend: classifier.backend,
          gradientMode: classifier.gradientMode,
        },
        dataset: { sha256: dataset.sha256, source: "builtin:fashion-mnist-sample", images: dataset.images.length },
        software: { deno: Deno.version.deno },
      });
      const { timingsMs: _u, shards: _s, ...provenance2 } = again.provenance;
      const { shards: _s1, ...provenance1 } = provenance;
      assert.deepEqual(
        { ...again, provenance: provenance2 },
        { ...report, provenance: provenance1 },
        "the report does not depend on sharding (timings apart)",
      );
      // A standard CNN: clean accuracy high, robustness at ε = 0.1 low, monotone worst case.
      assert.ok(report.clean.accuracy.rate! > 0.7, `clean ${report.clean.accuracy.rate}`);
      const worst = report.worstCase.filter((w) => w.norm === "linf");
      for (let k = 1; k < worst.length; k++) assert.ok(worst[k].accuracy.count <= worst[k - 1].accuracy.count);
      assert.ok(report.detection!.adversarial > 0 && report.detection!.auc !== null);
      assert.ok(report.examples.length > 0);

      // The CSV holds the same rows: clean, each attack entry, minimal ε, randomization, EoT per image, plus SPSA.
      const csvRows = parse(auditRowsCsv(shards, classifier.manifest.labels), { columns: true }) as Record<
        string,
        string
      >[];
      assert.equal(
        csvRows.length,
        24 * (1 + report.robustness.length + 3) + report.spsa!.images * plan.spsa!.eps.length,
      );
      for (const r of report.robustness) {
        const failed = csvRows.filter((c) =>
          c.probe === "attack" && c.attack === r.attack && Number(c.eps) === r.eps && c.success === "false"
        );
        assert.equal(failed.length, r.accuracy.count, `${r.attack}@${r.eps}`);
      }
      const html = await renderReportHtml(report);
      assert.ok(!/<script/i.test(html), "no scripts");
      assert.ok(!/(src|href)="https?:/i.test(html), "no external resources");
      await Deno.mkdir(CACHE, { recursive: true });
      await Deno.writeTextFile(new URL("audit-report.html", CACHE), html);
      await Deno.writeTextFile(new URL("audit-report.json", CACHE), JSON.stringify(report, null, 2));
      const browser = await puppeteer.launch({
        executablePath: "/usr/bin/chromium",
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-background-networking",
          "--disable-component-update",
          "--no-first-run",
        ],
      });
      try {
        const page = await browser.newPage();
        await page.setJavaScriptEnabled(false);
        await page.setViewport({ width: 1280, height: 800 });
        await page.goto(new URL("audit-report.html", CACHE).href, { waitUntil: "load" });
        const metrics: [string, string][] = await page.$$eval(
          "[data-metric]",
          (els) => els.map((e) => [e.getAttribute("data-metric")!, e.textContent!.trim()] as [string, string]),
        );
        const shown = new Map(metrics);
        assert.equal(shown.get("clean"), percent(report.clean.accuracy.rate));
        for (const r of report.robustness) {
          assert.equal(shown.get(`robust:${r.attack}:${r.eps}`), percent(r.accuracy.rate));
        }
        for (const w of report.worstCase) assert.equal(shown.get(`worst:${w.norm}:${w.eps}`), percent(w.accuracy.rate));
        assert.equal(shown.get("auc"), report.detection!.auc!.toFixed(3));
        // Charts (legend swatches are small SVGs of their own).
        const charts = await page.$$eval("figure.chart svg", (els) => els.map((e) => e.getBoundingClientRect().width));
        assert.ok(charts.filter((w) => w >= 300).length >= 6, `charts: ${charts}`);
        const images = await page.$$eval(
          "img",
          (els) => els.map((e) => (e as unknown as { naturalWidth: number }).naturalWidth),
        );
        assert.equal(images.length, 3 * report.examples.length);
        assert.ok(images.every((w) => w === 28), "examples decode as 28×28 PNGs");
        await page.screenshot({ path: new URL("audit-report.png", CACHE).pathname, fullPage: true });
      } finally {
        await browser.close();
      }
      await classifier.release();
    } finally {
      engine.close();
    }
  },
});
