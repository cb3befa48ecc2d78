import assert from "node:assert/strict";
import type { ResolvedAttack } from "./attacks/types.ts";
import { auditRowsCsv, CSV_COLUMNS } from "./csv.ts";
import { computeFlags, type FlagInputs } from "./flags.ts";
import type { EffectivePlan } from "./plan.ts";
import { buildReport, type ReportInput } from "./report.ts";
import { AuditReportSchema } from "./report_schema.ts";
import type { AttackRow, ImageRow, ShardResult } from "./rows.ts";
import { wilson } from "./stats.ts";

const attack = (id: string, kind: string, norm: "linf" | "l2", eps: number[]): ResolvedAttack => ({
  id,
  kind,
  norm,
  eps,
  stage: 16,
});

const plan: EffectivePlan = {
  version: 1,
  seed: 1,
  shardSize: 2,
  subsample: null,
  attacks: [attack("fgsm", "fgsm", "linf", [0.1, 0.2]), attack("pgd-linf", "pgd", "linf", [0.1, 0.2])],
  minimalEpsilon: { low: 0, high: 0.4, bisectionSteps: 4, steps: 5, alphaFactor: 0.25, randomStart: false },
  squeeze: { squeezers: [{ kind: "bitDepth", bits: 1 }], threshold: 0.5 },
  randomization: null,
  spsa: { images: 2, norm: "linf", eps: [0.1], steps: 3, alpha: [0.08], samples: 16, delta: 0.01 },
  examples: 1,
};

function image(index: number, label: number, prediction: number, extra: Partial<ImageRow> = {}): ImageRow {
  return {
    index,
    name: `i${index}`,
    label,
    error: null,
    clean: { prediction, confidence: 0.9, correct: prediction === label, gradient: { l2: 1, zero: false } },
    squeeze: 0.1 * index,
    minimalEpsilon: null,
    randomization: null,
    ...extra,
  };
}

function row(index: number, id: string, eps: number, success: boolean, extra: Partial<AttackRow> = {}): AttackRow {
  return {
    index,
    attack: id,
    kind: id === "fgsm" ? "fgsm" : id === "spsa-linf" ? "spsa" : "pgd",
    norm: "linf",
    eps,
    success,
    iterations: success ? 2 : 5,
    prediction: success ? 1 : 0,
    perturbation: { linf: eps, l2: eps },
    squeeze: success ? 0.6 : null,
    gradient: id === "spsa-linf" ? "spsa" : "exact",
    blackBox: id === "spsa-linf",
    ...extra,
  };
}

const shard = (k: number, images: ImageRow[], attacks: AttackRow[]): ShardResult => ({
  shard: k,
  images,
  attacks,
  examples: [],
  probes: { determinism: { rows: images.length, maxAbsDiff: 0, argmaxChanged: 0 } },
  timings: { clean: 1 },
  compute: { clean: images.length },
});

const model: ReportInput["model"] = {
  id: "m",
  sha256: "ab",
  manifest: { labels: ["a", "b", "c", "d"], output: { kind: "logits" } },
  backend: "typescript",
  gradientMode: "exact",
};

// Image 0: robust to everything. 1: FGSM breaks it at 0.2 only. 2: PGD breaks it at 0.1 and 0.2.
// 3: misclassified clean. 4: undecodable.
const shards = [
  shard(0, [
    image(0, 0, 0, { minimalEpsilon: { epsilon: null, broken: false, bounds: [0.4, null] } }),
    image(1, 0, 0, { minimalEpsilon: { epsilon: 0.2, broken: true, bounds: [0.15, 0.2] } }),
  ], [
    row(0, "fgsm", 0.1, false),
    row(0, "fgsm", 0.2, false),
    row(0, "pgd-linf", 0.1, false),
    row(0, "pgd-linf", 0.2, false),
    row(0, "spsa-linf", 0.1, true),
    row(1, "fgsm", 0.1, false),
    row(1, "fgsm", 0.2, true, { squeeze: 0.4 }),
    row(1, "pgd-linf", 0.1, false),
    row(1, "pgd-linf", 0.2, false),
    row(1, "spsa-linf", 0.1, false),
  ]),
  shard(1, [
    image(2, 2, 2, { minimalEpsilon: { epsilon: 0.05, broken: true, bounds: [0, 0.05] } }),
    image(3, 3, 1, { minimalEpsilon: { epsilon: 0, broken: true, bounds: [0, 0] } }),
  ], [
    row(2, "fgsm", 0.1, false),
    row(2, "fgsm", 0.2, false),
    row(2, "pgd-linf", 0.1, true),
    row(2, "pgd-linf", 0.2, true),
    row(3, "fgsm", 0.1, true, { iterations: 0, squeeze: null }),
    row(3, "fgsm", 0.2, true, { iterations: 0, squeeze: null }),
    row(3, "pgd-linf", 0.1, true, { iterations: 0, squeeze: null }),
    row(3, "pgd-linf", 0.2, true, { iterations: 0, squeeze: null }),
  ]),
  shard(
    2,
    [{ ...image(4, 1, 1), error: { code: "undecodable_image", message: "cut" }, clean: null, squeeze: null }],
    [],
  ),
];

Deno.test("report: robust accuracy per attack, worst case over attacks, per class, confusion", () => {
  const r = buildReport({ plan, shards, model, dataset: { sha256: "d", source: "zip" } });
  AuditReportSchema.parse(r);
  assert.deepEqual(r.images, { total: 5, evaluated: 4, errors: 1 });
  assert.deepEqual(r.errors, [{ index: 4, name: "i4", code: "undecodable_image", message: "cut" }]);
  assert.deepEqual(r.clean.accuracy, wilson(3, 4));
  const acc = Object.fromEntries(r.robustness.map((e) => [`${e.attack}@${e.eps}`, e.accuracy.count]));
  assert.deepEqual(acc, { "fgsm@0.1": 3, "fgsm@0.2": 2, "pgd-linf@0.1": 2, "pgd-linf@0.2": 2 });
  // Worst case: robust only if both attacks failed: 0.1 → {0, 1}; 0.2 → {0}.
  assert.deepEqual(r.worstCase.map((w) => [w.eps, w.attacks, w.accuracy.count, w.accuracy.total]), [
    [0.1, ["fgsm", "pgd-linf"], 2, 4],
    [0.2, ["fgsm", "pgd-linf"], 1, 4],
  ]);
  assert.deepEqual(r.perClass[0].worstCase.map((w) => w.accuracy.count), [2, 1]);
  assert.deepEqual(r.perClass[2].worstCase.map((w) => w.accuracy.count), [0, 0]);
  assert.equal(r.perClass[1].clean.total, 0, "the undecodable image is not evaluated");
  const fgsm2 = r.confusion.find((c) => c.attack === "fgsm" && c.eps === 0.2)!.matrix;
  assert.deepEqual(fgsm2[0], [1, 1, 0, 0]);
  assert.deepEqual(fgsm2[3], [0, 1, 0, 0]);
  // Minimal ε: values 0, 0.05, 0.2, ∞ → median 0.05, p90 above high.
  assert.deepEqual([r.minimalEpsilon!.alreadyWrong, r.minimalEpsilon!.broken, r.minimalEpsilon!.unbroken], [1, 3, 1]);
  assert.equal(r.minimalEpsilon!.quantiles.p50, 0.05);
  assert.equal(r.minimalEpsilon!.quantiles.p90, null);
  assert.equal(r.minimalEpsilon!.histogram.reduce((n, b) => n + b.count, 0), 3);
  // Detection: clean scores 0, .1, .2, .3; adversarial (correct clean, iterations > 0): .4, .6, .6.
  const d = r.detection!;
  assert.deepEqual([d.clean, d.adversarial], [4, 3]);
  assert.equal(d.auc, 1);
  assert.deepEqual(d.atThreshold!.detectionRate, wilson(2, 3));
  assert.deepEqual(d.atThreshold!.falsePositiveRate, wilson(0, 4));
  // SPSA broke image 0, which every gradient attack at 0.1 failed on.
  assert.deepEqual(r.spsa!.eps[0].spsaOnly, 1);
  assert.deepEqual(r.flags.map((f) => f.code), ["spsa_stronger_than_gradients"]);
});

Deno.test("report: independent of shard order and of duplicated shard deliveries", () => {
  const a = buildReport({ plan, shards, model });
  const b = buildReport({ plan, shards: [shards[2], shards[0], shards[1], shards[0]], model });
  assert.deepEqual(b, a);
});

const base: FlagInputs = {
  attacks: [
    {
      id: "fgsm",
      kind: "fgsm",
      norm: "linf",
      points: [{ eps: 0.1, robust: 50, total: 100 }, { eps: 0.2, robust: 30, total: 100 }],
    },
    {
      id: "pgd-linf",
      kind: "pgd",
      norm: "linf",
      points: [{ eps: 0.1, robust: 40, total: 100 }, { eps: 0.2, robust: 20, total: 100 }],
    },
  ],
  spsa: [{ eps: 0.1, images: 16, spsaOnly: 0 }],
  gradients: { checked: 100, zero: 5 },
  outputKind: "logits",
  saturated: { count: 5, total: 100 },
  determinism: { rows: 100, maxAbsDiff: 0, argmaxChanged: 0 },
  classes: 10,
};

Deno.test("flags: none on a clean evaluation; each fires on its own condition", () => {
  assert.deepEqual(computeFlags(base), []);
  const fires = (changes: Partial<FlagInputs>) => computeFlags({ ...base, ...changes }).map((f) => f.code);
  assert.deepEqual(
    fires({
      attacks: [{
        id: "pgd-linf",
        kind: "pgd",
        norm: "linf",
        points: [{ eps: 0.1, robust: 40, total: 100 }, { eps: 0.2, robust: 41, total: 100 }],
      }],
    }),
    ["robust_accuracy_increases_with_eps"],
  );
  assert.deepEqual(
    fires({
      attacks: [base.attacks[0], {
        id: "pgd-linf",
        kind: "pgd",
        norm: "linf",
        points: [{ eps: 0.1, robust: 51, total: 100 }, { eps: 0.2, robust: 20, total: 100 }],
      }],
    }),
    ["iterative_weaker_than_fgsm"],
  );
  // L2 PGD is not compared with FGSM (an L∞ attack).
  assert.deepEqual(
    fires({
      attacks: [base.attacks[0], {
        id: "pgd-l2",
        kind: "pgd",
        norm: "l2",
        points: [{ eps: 0.1, robust: 90, total: 100 }],
      }],
    }),
    [],
  );
  assert.deepEqual(
    fires({
      attacks: [{
        id: "worst case L∞",
        kind: "worst-case",
        norm: "linf",
        points: [{ eps: 0.1, robust: 10, total: 100 }, { eps: 0.2, robust: 11, total: 100 }],
      }],
    }),
    ["robust_accuracy_increases_with_eps"],
  );
  assert.deepEqual(
    fires({
      attacks: [base.attacks[0], {
        id: "worst case L∞",
        kind: "worst-case",
        norm: "linf",
        points: [{ eps: 0.1, robust: 60, total: 100 }],
      }],
    }),
    [],
    "the worst case is not compared with FGSM",
  );
  assert.deepEqual(fires({ spsa: [{ eps: 0.1, images: 16, spsaOnly: 1 }] }), ["spsa_stronger_than_gradients"]);
  assert.deepEqual(fires({ gradients: { checked: 100, zero: 6 } }), ["many_zero_gradients"]);
  assert.deepEqual(fires({ outputKind: "probabilities" }), ["probability_outputs"]);
  assert.deepEqual(fires({ saturated: { count: 6, total: 100 } }), ["softmax_saturation"]);
  assert.deepEqual(fires({ determinism: { rows: 100, maxAbsDiff: 1e-6, argmaxChanged: 0 } }), [
    "nondeterministic_outputs",
  ]);
  assert.deepEqual(fires({ classes: 3 }), ["too_few_classes_for_dlr"]);
  for (const f of computeFlags({ ...base, classes: 2, outputKind: "probabilities" })) {
    assert.ok(f.message.length > 0 && f.meaning.length > 0 && f.action.length > 0);
  }
});

Deno.test("csv: one row per image and probe, in index order, parseable", async () => {
  const { parse } = await import("csv-parse/sync");
  const withProbes = [
    ...shards.slice(0, 2),
    shard(2, [{
      ...image(4, 1, 1),
      randomization: { agreement: 0.75, eot: { success: true, fooledFraction: 0.8, prediction: 2 } },
    }], []),
  ];
  const text = auditRowsCsv([withProbes[1], withProbes[0], withProbes[2], withProbes[0]], model.manifest.labels);
  const rows = parse(text, { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rows[0]), [...CSV_COLUMNS]);
  // image 0: clean + 5 attack rows + minimal ε; 1: clean + 5 + minimal; 2: clean + 4 + minimal; 3: same; 4: clean + randomization + eot.
  assert.deepEqual(rows.map((r) => `${r.index}:${r.probe}`).slice(0, 7), [
    "0:clean",
    "0:attack",
    "0:attack",
    "0:attack",
    "0:attack",
    "0:black-box",
    "0:minimal-epsilon",
  ]);
  assert.equal(rows.length, 7 + 7 + 6 + 6 + 3);
  assert.deepEqual(rows.at(-1), {
    ...Object.fromEntries(CSV_COLUMNS.map((c) => [c, ""])),
    index: "4",
    name: "i4",
    label: "1",
    label_name: "b",
    probe: "eot",
    norm: "linf",
    success: "true",
    prediction: "2",
    prediction_name: "c",
    value: "0.8",
  });
  assert.equal(rows.find((r) => r.index === "0" && r.probe === "minimal-epsilon")!.value, "", "not broken = empty");
  const broken = auditRowsCsv([shards[2]], model.manifest.labels);
  const errorRows = parse(broken, { columns: true }) as Record<string, string>[];
  assert.deepEqual([errorRows.length, errorRows[0].probe, errorRows[0].error_code], [1, "error", "undecodable_image"]);
});
