import assert from "node:assert/strict";
import type { ResolvedAttack } from "./attacks/types.ts";
import { escapeHtml, percent, renderReportHtml } from "./html.ts";
import type { EffectivePlan } from "./plan.ts";
import { buildReport } from "./report.ts";
import type { ShardResult } from "./rows.ts";

const hostile = `<img src=x onerror="alert(1)">`;

Deno.test("html: user strings are escaped; no scripts or external resources; numbers carry data-metric", async () => {
  const plan: EffectivePlan = {
    version: 1,
    seed: 0,
    shardSize: 4,
    subsample: null,
    attacks: [{ id: "fgsm", kind: "fgsm", norm: "linf", eps: [0.1], stage: 16 } as ResolvedAttack],
    minimalEpsilon: null,
    squeeze: null,
    randomization: null,
    spsa: null,
    examples: 0,
  };
  const shard: ShardResult = {
    shard: 0,
    images: [0, 1, 2].map((index) => ({
      index,
      name: `${hostile}-${index}`,
      label: index % 2,
      error: index === 2 ? { code: "undecodable_image", message: hostile } : null,
      clean: index === 2 ? null : { prediction: 0, confidence: 0.8, correct: index === 0, gradient: null },
      squeeze: null,
      minimalEpsilon: null,
      randomization: null,
    })),
    attacks: [0, 1].map((index) => ({
      index,
      attack: "fgsm",
      kind: "fgsm",
      norm: "linf" as const,
      eps: 0.1,
      success: index === 1,
      iterations: 1,
      prediction: 0,
      perturbation: { linf: 0.1, l2: 1 },
      squeeze: null,
      gradient: "exact" as const,
      blackBox: false,
    })),
    examples: [],
    probes: { determinism: { rows: 2, maxAbsDiff: 0, argmaxChanged: 0 } },
    timings: {},
    compute: {},
  };
  const report = buildReport({
    plan,
    shards: [shard],
    model: {
      id: "m",
      version: hostile,
      sha256: "00",
      manifest: { labels: [hostile, "b"], output: { kind: "logits" } },
      backend: "wasm",
      gradientMode: "exact",
    },
    software: { [hostile]: hostile },
  });
  const html = await renderReportHtml(report);
  assert.ok(!html.includes(hostile), "the raw string never appears");
  assert.ok(html.includes(escapeHtml(hostile)));
  assert.ok(!/<script/i.test(html));
  assert.ok(!/(src|href)="(https?:|\/\/)/i.test(html));
  assert.match(html, new RegExp(`data-metric="clean">${percent(0.5).replace(".", "\\.")}<`));
  assert.match(html, /data-metric="robust:fgsm:0\.1">50\.0%</);
  assert.match(html, /<section id="errors">/);
  assert.equal(percent(null), "—");
  assert.equal(percent(0.12345), "12.3%");
});
