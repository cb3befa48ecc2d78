import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import type { Manifest } from "../model/manifest.ts";
import { randomLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import type { ResolvedPgd } from "./attacks/pgd.ts";
import {
  checkPlanLimits,
  DEFAULT_AUDIT_LIMITS,
  estimatePlanCost,
  resolvePlan,
  selectImages,
  shardCount,
  shardRange,
  spsaSample,
} from "./plan.ts";
import { runShard } from "./shard.ts";

function manifest(channels: 1 | 3, extra: Partial<Manifest> = {}): Manifest {
  return {
    id: "m",
    labels: ["a", "b", "c", "d"],
    input: {
      name: "x",
      layout: "NCHW",
      channels,
      height: 28,
      width: 28,
      scale: "unit",
      mean: new Array(channels).fill(0),
      std: new Array(channels).fill(1),
    },
    output: { name: "y", kind: "logits" },
    ...extra,
  };
}

const refusal = (fn: () => unknown, code: string, text: RegExp) =>
  assert.throws(fn, (e) => e instanceof RequestError && e.status === 422 && e.code === code && text.test(e.message));

Deno.test("plan: defaults follow the model like the check's", () => {
  const grey = resolvePlan(
    { manifest: manifest(1, { defaults: { squeezeThreshold: 0.7 } }), gradientMode: "exact" },
    {},
  );
  const linf = [0.05, 0.1, 0.25];
  assert.deepEqual(grey.attacks.map((a) => [a.id, a.eps]), [
    ["fgsm", linf],
    ["pgd-linf", linf],
    ["pgd-l2", [0.5, 1, 1.5]],
    ["apgd-ce-linf", linf],
    ["apgd-dlr-linf", linf],
  ]);
  const pgd = grey.attacks[1] as ResolvedPgd;
  assert.deepEqual([pgd.steps, pgd.restarts, pgd.randomStart], [20, 1, true]);
  assert.deepEqual(pgd.alpha, pgd.eps.map((e) => 2.5 * e / 20));
  assert.deepEqual(
    grey.attacks.map((a) => a.stage),
    [16, 16, 19, 22, 25],
    "seeded probes (PGD, APGD) take consecutive seed stages from 16",
  );
  assert.equal(grey.squeeze!.threshold, 0.7);
  assert.deepEqual(grey.squeeze!.squeezers, [{ kind: "bitDepth", bits: 1 }, { kind: "median", size: 2 }]);
  assert.deepEqual(grey.minimalEpsilon, {
    low: 0,
    high: 0.5,
    bisectionSteps: 8,
    steps: 10,
    alphaFactor: 0.25,
    randomStart: false,
  });
  assert.equal(grey.randomization!.draws, 20);
  assert.deepEqual([grey.spsa!.images, grey.spsa!.eps, grey.spsa!.steps, grey.spsa!.samples], [16, [0.1], 10, 588]);
  assert.deepEqual([grey.shardSize, grey.examples, grey.seed, grey.subsample], [32, 8, 0, null]);

  const colour = resolvePlan({ manifest: manifest(3), gradientMode: "exact" }, { seed: 5, subsample: { size: 10 } });
  assert.deepEqual(colour.attacks[0].eps, [2 / 255, 4 / 255, 8 / 255]);
  assert.equal(colour.squeeze!.squeezers.length, 3);
  assert.equal(colour.squeeze!.threshold, null);
  assert.deepEqual(colour.subsample, { size: 10, seed: 5 });

  // DLR needs 3 classes: left out of a 2-class model's plan even when named (the report flags it).
  const two = resolvePlan({ manifest: manifest(1, { labels: ["a", "b"] }), gradientMode: "exact" }, {
    attacks: [{ kind: "apgd-ce", norm: "linf", eps: [0.1] }, { kind: "apgd-dlr", norm: "linf", eps: [0.1] }],
  });
  assert.deepEqual(two.attacks.map((a) => a.id), ["apgd-ce-linf"]);

  const spsa = resolvePlan({ manifest: manifest(1), gradientMode: "spsa" }, {});
  assert.deepEqual(spsa.attacks.map((a) => a.id), ["fgsm", "pgd-linf"]);
  assert.equal((spsa.attacks[1] as ResolvedPgd).steps, 10);
  assert.equal(spsa.minimalEpsilon, null);
  assert.equal(spsa.randomization!.eot, false);
  assert.equal(spsa.spsa, null, "no SPSA check when the gradients already are SPSA");
  assert.equal(resolvePlan({ manifest: manifest(1), gradientMode: "spsa" }, { spsa: { images: 4 } }).spsa, null);
});

Deno.test("plan: explicit settings, α per ε, and refusals naming the field or limit", () => {
  const facts = { manifest: manifest(1), gradientMode: "exact" as const };
  const plan = resolvePlan(facts, {
    attacks: [{
      kind: "pgd",
      norm: "linf",
      eps: [0.1, 0.2],
      steps: 5,
      alpha: [0.01, 0.03],
      randomStart: false,
      id: "weak",
    }],
    squeeze: false,
    randomization: false,
    minimalEpsilon: false,
    spsa: false,
  });
  assert.deepEqual((plan.attacks[0] as ResolvedPgd).alpha, [0.01, 0.03]);
  assert.deepEqual([plan.squeeze, plan.randomization, plan.minimalEpsilon, plan.spsa], [null, null, null, null]);
  refusal(() => resolvePlan(facts, { attacks: [{ kind: "apgd" }] }), "invalid_plan", /plan\.attacks\.0\.kind/);
  refusal(() => resolvePlan(facts, { shardSize: 0 }), "invalid_plan", /plan\.shardSize/);
  refusal(() => resolvePlan(facts, { bogus: 1 }), "invalid_plan", /bogus|Unrecognized/);
  refusal(
    () => resolvePlan(facts, { attacks: [{ kind: "fgsm", eps: [0.1] }, { kind: "fgsm", eps: [0.2] }] }),
    "invalid_plan",
    /two attacks have the id "fgsm"/,
  );
  refusal(
    () => resolvePlan(facts, { attacks: [{ kind: "pgd", norm: "l2", eps: [1, 2], alpha: [0.1] }] }),
    "invalid_plan",
    /alpha/,
  );
  const big = resolvePlan(facts, { attacks: [{ kind: "pgd", norm: "linf", eps: [0.1], steps: 5000 }] });
  refusal(() => checkPlanLimits(big, facts, 10, DEFAULT_AUDIT_LIMITS), "limit_exceeded", /^maxSteps/);
  const ok = resolvePlan(facts, {});
  refusal(() => checkPlanLimits(ok, facts, 30_000, DEFAULT_AUDIT_LIMITS), "limit_exceeded", /^maxImages/);
  refusal(
    () => checkPlanLimits(ok, facts, 1000, { ...DEFAULT_AUDIT_LIMITS, maxAuditCost: 1000 }),
    "limit_exceeded",
    /^maxAuditCost/,
  );
  refusal(
    () => checkPlanLimits(resolvePlan(facts, { randomization: { draws: 999 } }), facts, 10, DEFAULT_AUDIT_LIMITS),
    "limit_exceeded",
    /^maxDraws/,
  );
  assert.ok(checkPlanLimits(ok, facts, 1000, DEFAULT_AUDIT_LIMITS) > 0);
});

Deno.test("plan: shards tile the images; subsample and SPSA sample are seeded and stratified", () => {
  const plan = { shardSize: 4 };
  assert.equal(shardCount(plan, 10), 3);
  assert.deepEqual([0, 1, 2].map((k) => shardRange(plan, 10, k)), [[0, 4], [4, 8], [8, 10]]);
  const facts = { manifest: manifest(1), gradientMode: "exact" as const };
  const labels = Array.from({ length: 40 }, (_, i) => (i < 30 ? 0 : i % 3 + 1));
  const p = resolvePlan(facts, { subsample: { size: 8, seed: 3 }, spsa: { images: 4 } });
  const chosen = selectImages(p, labels);
  assert.equal(chosen.length, 8);
  assert.deepEqual(chosen, [...chosen].sort((a, b) => a - b));
  assert.equal(chosen.filter((i) => labels[i] === 0).length, 6, "class 0 holds 3/4 of the images");
  assert.deepEqual(selectImages(p, labels), chosen);
  assert.notDeepEqual(selectImages({ ...p, subsample: { size: 8, seed: 4 } }, labels), chosen);
  assert.equal(spsaSample(p, labels).length, 4);
});

Deno.test("plan: the cost estimate bounds what a shard spends, stage by stage", async () => {
  const model = randomLinearSoftmax({ seed: 9, classes: 4, channels: 1, height: 8, width: 8, scale: 0.5 });
  const facts = { manifest: model.manifest, gradientMode: model.gradientMode };
  const plan = resolvePlan(facts, {
    spsa: { images: 3, samples: 8, steps: 2 },
    randomization: { draws: 5, eot: { steps: 2, samples: 2 } },
    minimalEpsilon: { bisectionSteps: 3, steps: 3 },
  });
  const images = Array.from({ length: 6 }, (_, i) => ({
    index: i,
    name: String(i),
    label: i % 4,
    pixels: Float32Array.from({ length: 64 }, (_, j) => ((i * 13 + j * 7) % 50) / 49),
    error: null,
  }));
  const result = await runShard({
    classifier: model,
    plan,
    shard: 0,
    images,
    spsaSample: new Set(spsaSample(plan, images.map((i) => i.label))),
  });
  const estimate = estimatePlanCost(plan, facts, images.length);
  for (const [stage, spent] of Object.entries(result.compute)) {
    assert.ok(stage in estimate, `stage ${stage} has an estimate`);
    assert.ok(spent <= estimate[stage], `${stage}: spent ${spent} > estimated ${estimate[stage]}`);
  }
  assert.ok(result.compute.spsa > 0 && result.compute.clean === 6 * 4);
});
