import assert from "node:assert/strict";
import { randomLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import type { Classifier } from "../model/classifier.ts";
import { type EffectivePlan, resolvePlan, shardCount, shardRange, spsaSample } from "./plan.ts";
import type { ShardResult } from "./rows.ts";
import { checkLikeAudit } from "./testdata/check_like_audit.ts";
import { runShard, type ShardImage } from "./shard.ts";

const shape = { channels: 1 as const, height: 8, width: 8 };
const model = randomLinearSoftmax({ seed: 3, classes: 4, ...shape, scale: 0.6 });
const facts = { manifest: model.manifest, gradientMode: model.gradientMode };
const N = 12;
const images: ShardImage[] = Array.from({ length: N }, (_, i) => ({
  index: i,
  name: `img-${String(i).padStart(2, "0")}.png`,
  label: i % 4,
  pixels: Float32Array.from({ length: 64 }, (_, j) => ((i * 31 + j * 17) % 97) / 96),
  error: null,
}));

const plan = resolvePlan(facts, {
  seed: 42,
  shardSize: 5,
  attacks: [
    { kind: "fgsm", eps: [0.02, 0.05, 0.1] },
    { kind: "pgd", norm: "linf", eps: [0.02, 0.05], steps: 6, restarts: 2 },
    { kind: "pgd", norm: "l2", eps: [0.3], steps: 5 },
    { kind: "apgd-ce", norm: "linf", eps: [0.05], steps: 6, restarts: 2 },
    { kind: "apgd-dlr", norm: "l2", eps: [0.3], steps: 5 },
  ],
  minimalEpsilon: { high: 0.3, bisectionSteps: 4, steps: 5, randomStart: true },
  randomization: { draws: 6, eot: { steps: 3, samples: 2 } },
  squeeze: { squeezers: [{ kind: "bitDepth", bits: 1 }, { kind: "median", size: 2 }] },
  spsa: { images: 4, steps: 3, samples: 16 },
  examples: 2,
});

/** Everything but timings. */
const stable = (r: ShardResult) => ({ ...r, timings: null });

async function runAll(p: EffectivePlan, classifier: Classifier, list: ShardImage[]): Promise<ShardResult[]> {
  const sample = new Set(spsaSample(p, list.map((i) => i.label)));
  const out: ShardResult[] = [];
  for (let k = 0; k < shardCount(p, list.length); k++) {
    const [a, b] = shardRange(p, list.length, k);
    out.push(await runShard({ classifier, plan: p, shard: k, images: list.slice(a, b), spsaSample: sample }));
  }
  return out;
}

Deno.test("shard: an image's rows are the same whatever shard it runs in and in whatever order shards run", async () => {
  const sharded = await runAll(plan, model, images);
  assert.equal(sharded.length, 3);
  const sample = new Set(spsaSample(plan, images.map((i) => i.label)));
  assert.equal(sample.size, 4);
  const whole = await runShard({ classifier: model, plan, shard: 0, images, spsaSample: sample });
  const perImage = (results: ShardResult[], index: number) => ({
    image: results.flatMap((r) => r.images).find((r) => r.index === index),
    attacks: results.flatMap((r) => r.attacks).filter((r) => r.index === index),
  });
  for (let i = 0; i < N; i++) assert.deepEqual(perImage(sharded, i), perImage([whole], i), `image ${i}`);
  const alone = await runShard({ classifier: model, plan, shard: 9, images: [images[7]], spsaSample: sample });
  assert.deepEqual(perImage([alone], 7), perImage([whole], 7));
  // Every (image, attack, ε) has one row; SPSA rows only for the sample.
  const entries = plan.attacks.reduce((n, a) => n + a.eps.length, 0);
  assert.equal(whole.attacks.filter((r) => !r.blackBox).length, N * entries);
  assert.deepEqual(
    [...new Set(whole.attacks.filter((r) => r.blackBox).map((r) => r.index))].sort(),
    [...sample].sort(),
  );
  // Something happened: some attacks succeed, some fail; squeezed scores exist for successes.
  const white = whole.attacks.filter((r) => !r.blackBox);
  assert.ok(white.some((r) => r.success) && white.some((r) => !r.success));
  assert.ok(white.filter((r) => r.success && r.iterations > 0).every((r) => typeof r.squeeze === "number"));
  assert.ok(white.filter((r) => !r.success).every((r) => r.squeeze === null));
  // Examples: the first images with a success; the audit's first N are among each shard's first N.
  const globalFirst = whole.examples.map((e) => e.index);
  const fromShards = sharded.flatMap((r) => r.examples).map((e) => e.index).sort((a, b) => a - b).slice(
    0,
    plan.examples,
  );
  assert.deepEqual(fromShards, globalFirst);
  assert.equal(whole.probes.determinism.maxAbsDiff, 0);
  assert.equal(whole.probes.determinism.rows, N);
  // Re-running a shard gives the same rows (only timings differ).
  assert.deepEqual(stable((await runAll(plan, model, images))[1]), stable(sharded[1]));
});

Deno.test("shard: each image's numbers equal /check's on that image with seed imageSeed(seed, index)", async () => {
  const [result] = await runAll({ ...plan, shardSize: N }, model, images);
  for (const img of images) {
    const check = await checkLikeAudit(plan, facts, model, img);
    const row = result.images.find((r) => r.index === img.index)!;
    // The check has no APGD probe: its rows are compared with FGSM's and PGD's.
    const attacks = result.attacks.filter((r) => r.index === img.index && !r.blackBox && !r.kind.startsWith("apgd"));
    assert.equal(row.clean!.prediction, check.prediction.index);
    assert.equal(row.squeeze, check.squeeze!.joint);
    assert.equal(row.randomization!.agreement, check.randomization!.agreement);
    assert.equal(row.randomization!.eot!.fooledFraction, check.randomization!.eot!.fooledFraction);
    assert.equal(row.randomization!.eot!.success, check.randomization!.eot!.success);
    assert.deepEqual(row.minimalEpsilon, {
      epsilon: check.minimalEpsilon!.linf,
      broken: check.minimalEpsilon!.broken,
      bounds: check.minimalEpsilon!.bounds,
    });
    assert.equal(attacks.length, check.probes.length);
    attacks.forEach((a, k) => {
      const p = check.probes[k];
      assert.deepEqual(
        [a.kind, a.norm, a.eps, a.success, a.iterations, a.prediction, a.perturbation],
        [p.attack, p.norm, p.eps, p.success, p.iterations, p.adversarial.index, p.perturbation],
        `image ${img.index} probe ${k}`,
      );
    });
  }
});

Deno.test("shard: undecodable images get an error row and nothing else; the plan can be aborted", async () => {
  const broken: ShardImage = {
    index: 12,
    name: "bad.png",
    label: 0,
    pixels: null,
    error: { code: "undecodable_image", message: "x" },
  };
  const r = await runShard({
    classifier: model,
    plan,
    shard: 2,
    images: [images[10], images[11], broken],
    spsaSample: new Set(),
  });
  assert.deepEqual(r.images[2], {
    index: 12,
    name: "bad.png",
    label: 0,
    error: broken.error,
    clean: null,
    squeeze: null,
    minimalEpsilon: null,
    randomization: null,
  });
  assert.ok(r.attacks.every((a) => a.index !== 12));
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    runShard({ classifier: model, plan, shard: 0, images, spsaSample: new Set(), signal: controller.signal }),
  );
});

Deno.test("shard: a model without exact gradients runs on row-seeded SPSA, still shard-independent", async () => {
  // The classifier's own gradient is never used: the shard estimates gradients from logits row by row.
  const blackBox: Classifier = {
    ...model,
    gradientMode: "spsa",
    logits: (p, n) => model.logits(p, n),
    gradient: () => Promise.reject(new Error("the shard must not use the runtime's batch-seeded SPSA")),
  };
  const facts = { manifest: model.manifest, gradientMode: "spsa" as const };
  const p = resolvePlan(facts, {
    seed: 3,
    shardSize: 3,
    attacks: [{ kind: "pgd", norm: "linf", eps: [0.1], steps: 2 }],
    squeeze: false,
    randomization: false,
  });
  assert.equal(p.spsa, null);
  const list = images.slice(0, 6);
  const sharded = await runAll(p, blackBox, list);
  const [whole] = await runAll({ ...p, shardSize: 6 }, blackBox, list);
  const attacks = (rs: ShardResult[]) => rs.flatMap((r) => r.attacks).sort((a, b) => a.index - b.index);
  assert.deepEqual(attacks(sharded), attacks([whole]));
  assert.ok(attacks([whole]).every((r) => r.gradient === "spsa"));
  assert.ok(whole.images.every((r) => r.clean!.gradient === null), "no zero-gradient probe on estimated gradients");
  assert.ok(whole.compute["pgd-linf"] > 6 * 2 * 2 * 16, "SPSA forwards are counted");
});
