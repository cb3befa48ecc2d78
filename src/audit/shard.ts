/**
 * Runs one shard: a fixed slice of the audit's images (plan.ts `shardRange`) through every stage
 * of the plan, all images of the shard batched together at each step (the attacks take
 * [n, C, H, W] batches and drop finished rows). Every random draw is seeded per image (seeds.ts)
 * and every estimate is per row, so an image's rows are the same in whatever shard it runs.
 *
 * Stages, in order: clean forward twice (prediction; determinism probe), clean gradient
 * (zero-gradient probe; exact-gradient models only), squeezing of the clean images,
 * randomized resizing + EoT-PGD, the plan's attacks (against the dataset label), squeezing of
 * each successful adversarial example, the minimal-ε search, the SPSA gradient-masking check on
 * the sampled images, examples. Images that failed to decode get an error row and nothing else.
 * `signal` aborts between stages and between an attack's ε values (a cancelled audit stops at the next batch
 * boundary).
 */
import { argmax, softmax } from "../../kernels/softmax.ts";
import { eotPgd } from "../attacks/eot_pgd.ts";
import { minimalEpsilon } from "../attacks/minimal_epsilon.ts";
import { pgd } from "../attacks/pgd.ts";
import { countingClassifier, forwardEquivalents } from "../attacks/cost.ts";
import { amplifiedPerturbation, pngBase64 } from "../check/images.ts";
import { resizePadDraws, votesFromLogits } from "../check/randomization.ts";
import { scoresFromLogits, squeezedBatch } from "../check/squeeze.ts";
import type { Classifier } from "../model/classifier.ts";
import { SPSA_DELTA } from "../runtime/spsa.ts";
import { spsaCostPerRow, spsaSamples } from "../model/gradient_cost.ts";
import { attackRunner } from "./attacks/registry.ts";
import type { AttackSample } from "./attacks/types.ts";
import type { EffectivePlan } from "./plan.ts";
import type { AttackRow, ExampleImage, ImageRow, ShardResult } from "./rows.ts";
import { imageSeed, STAGE, stageSeed } from "./seeds.ts";
import { rowSeededSpsa } from "./spsa_classifier.ts";

export interface ShardImage {
  index: number;
  name: string;
  label: number;
  /** CHW in [0,1] at the model's input size; null when decoding failed. */
  pixels: Float32Array | null;
  error: { code: string; message: string } | null;
}

export interface ShardInput {
  classifier: Classifier;
  plan: EffectivePlan;
  shard: number;
  /** The shard's images in index order. */
  images: ShardImage[];
  /** Audit image indices in the SPSA sample (plan.ts `spsaSample`). */
  spsaSample: ReadonlySet<number>;
  signal?: AbortSignal;
}

/** Squeezed rows are sent to the model in chunks of this many. */
const SQUEEZE_CHUNK_ROWS = 512;

function stack(rows: readonly Float32Array[], size: number): Float32Array {
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, i) => out.set(r, i * size));
  return out;
}

function l2(values: Float32Array): number {
  let s = 0;
  for (const v of values) s += v * v;
  return Math.sqrt(s);
}

export async function runShard(input: ShardInput): Promise<ShardResult> {
  const { plan, signal } = input;
  const base = input.classifier;
  const { manifest } = base;
  const { channels, height, width } = manifest.input;
  const shape = { channels, height, width };
  const size = channels * height * width;
  const classes = manifest.labels.length;
  const timings: Record<string, number> = {};
  const compute: Record<string, number> = {};
  const gradientCost = base.gradientMode === "spsa" ? spsaCostPerRow(size) : 2;

  /** Runs a stage on a counting wrapper, recording its time and forward-pass equivalents. */
  const stage = async <T>(name: string, work: (c: Classifier) => Promise<T>, rowCost = gradientCost): Promise<T> => {
    signal?.throwIfAborted();
    const counted = countingClassifier(base);
    // Models without exact gradients get row-seeded SPSA, so estimates do not depend on the batch.
    const classifier = base.gradientMode === "spsa"
      ? rowSeededSpsa(counted.classifier, {
        samples: spsaSamples(size),
        delta: SPSA_DELTA,
        seed: stageSeed(plan.seed, STAGE.spsa),
      })
      : counted.classifier;
    const start = performance.now();
    try {
      return await work(classifier);
    } finally {
      timings[name] = (timings[name] ?? 0) + performance.now() - start;
      compute[name] = (compute[name] ?? 0) +
        forwardEquivalents(counted.evaluations, base.gradientMode === "spsa" ? 1 : rowCost);
    }
  };

  const valid = input.images.filter((i) => i.pixels !== null);
  const n = valid.length;
  const rows: ImageRow[] = input.images.map((i) => ({
    index: i.index,
    name: i.name,
    label: i.label,
    error: i.error ?? (i.pixels ? null : { code: "undecodable_image", message: "no pixels" }),
    clean: null,
    squeeze: null,
    minimalEpsilon: null,
    randomization: null,
  }));
  const rowOf = new Map(rows.map((r) => [r.index, r]));
  const attackRows: AttackRow[] = [];
  const result = (examples: ExampleImage[], determinism: ShardResult["probes"]["determinism"]): ShardResult => ({
    shard: input.shard,
    images: rows,
    attacks: attackRows,
    examples,
    probes: { determinism },
    timings,
    compute,
  });
  if (n === 0) return result([], { rows: 0, maxAbsDiff: 0, argmaxChanged: 0 });

  const x = stack(valid.map((v) => v.pixels!), size);
  const labels = Int32Array.from(valid, (v) => v.label);
  const seeds = valid.map((v) => imageSeed(plan.seed, v.index));
  const seedOf = (s: number, i: number) => stageSeed(seeds[i], s);

  // Clean predictions, and the same batch again: any difference is non-determinism.
  const [z, again] = await stage("clean", async (c) => [await c.logits(x, n), await c.logits(x, n)]);
  let maxAbsDiff = 0;
  const cleanPred = argmax(z, { rows: n, cols: classes });
  const againPred = argmax(again, { rows: n, cols: classes });
  for (let j = 0; j < z.length; j++) {
    if (Object.is(z[j], again[j])) continue;
    // NaN against a number: as different as it gets (and still a finite JSON number).
    const d = Math.abs(z[j] - again[j]);
    maxAbsDiff = Math.max(maxAbsDiff, Number.isNaN(d) ? Number.MAX_VALUE : d);
  }
  const determinism = { rows: n, maxAbsDiff, argmaxChanged: cleanPred.filter((p, i) => p !== againPred[i]).length };
  const probabilities = softmax(z, { rows: n, cols: classes });
  const cleanGradient = base.gradientMode === "exact"
    ? await stage("clean", (c) => c.gradient(x, n, labels, "ce"))
    : null;
  valid.forEach((v, i) => {
    const g = cleanGradient?.grad.subarray(i * size, (i + 1) * size);
    rowOf.get(v.index)!.clean = {
      prediction: cleanPred[i],
      confidence: probabilities[i * classes + cleanPred[i]],
      correct: cleanPred[i] === labels[i],
      gradient: g ? { l2: l2(g), zero: g.every((q) => q === 0) } : null,
    };
  });

  /** Joint squeeze scores of images (rows of `batch`), squeezed versions in chunked forwards. */
  const squeezeJoint = async (batch: Float32Array, count: number, c: Classifier): Promise<number[]> => {
    const squeezers = plan.squeeze!.squeezers;
    const s = squeezers.length;
    const perChunk = Math.max(1, Math.floor(SQUEEZE_CHUNK_ROWS / (s + 1)));
    const out: number[] = [];
    for (let start = 0; start < count; start += perChunk) {
      const m = Math.min(perChunk, count - start);
      const group = new Float32Array(m * (s + 1) * size);
      for (let k = 0; k < m; k++) {
        const img = batch.subarray((start + k) * size, (start + k + 1) * size);
        group.set(img, k * (s + 1) * size);
        group.set(squeezedBatch(img, shape, squeezers), (k * (s + 1) + 1) * size);
      }
      const logits = await c.logits(group, m * (s + 1));
      for (let k = 0; k < m; k++) {
        const at = k * (s + 1) * classes;
        const own = logits.subarray(at, at + classes);
        const squeezed = logits.subarray(at + classes, at + (s + 1) * classes);
        out.push(scoresFromLogits(own, squeezed, squeezers).joint);
      }
    }
    return out;
  };

  if (plan.squeeze) {
    const joint = await stage("squeeze", (c) => squeezeJoint(x, n, c));
    valid.forEach((v, i) => rowOf.get(v.index)!.squeeze = joint[i]);
  }

  const r = plan.randomization;
  if (r) {
    const drawn = new Float32Array(n * r.draws * size);
    valid.forEach((v, i) => {
      const seed = seedOf(STAGE.randomization, i);
      drawn.set(resizePadDraws(v.pixels!, shape, { ...r, seed }), i * r.draws * size);
    });
    const drawLogits = await stage("randomization", (c) => c.logits(drawn, n * r.draws));
    const eot = r.eot
      ? await stage("eot", (c) =>
        eotPgd(c, x, {
          norm: "linf",
          eps: r.eot ? r.eot.eps : 0,
          alpha: r.eot ? r.eot.alpha : 0,
          steps: r.eot ? r.eot.steps : 0,
          randomStart: false,
          loss: "ce",
          seed: 0,
          seeds: valid.map((_, i) => seedOf(STAGE.eot, i)),
          labels,
          samples: r.eot ? r.eot.samples : 1,
          evalDraws: r.draws,
          transform: { minSize: r.minSize, maxSize: r.maxSize, canvas: r.canvas },
          signal,
        }))
      : null;
    valid.forEach((v, i) => {
      const votes = votesFromLogits(
        drawLogits.subarray(i * r.draws * classes, (i + 1) * r.draws * classes),
        r.draws,
        classes,
        cleanPred[i],
      );
      const e = eot?.[i];
      rowOf.get(v.index)!.randomization = {
        agreement: votes.agreement,
        eot: e
          ? { success: e.success, fooledFraction: e.randomization.fooledFraction, prediction: e.adversarial.index }
          : null,
      };
    });
  }

  /** Successful adversarial examples of correctly classified images, for squeezing and examples. */
  const found: { row: AttackRow; pixels: Float32Array; image: number }[] = [];
  const addRows = (
    id: string,
    kind: string,
    norm: AttackRow["norm"],
    eps: number[],
    samples: AttackSample[][],
    images: number[],
    blackBox: boolean,
    gradient: AttackRow["gradient"],
  ) => {
    eps.forEach((e, k) => {
      samples[k].forEach((s, j) => {
        const i = images[j];
        const row: AttackRow = {
          index: valid[i].index,
          attack: id,
          kind,
          norm,
          eps: e,
          success: s.success,
          iterations: s.iterations,
          prediction: s.prediction,
          perturbation: s.perturbation,
          squeeze: null,
          gradient,
          blackBox,
        };
        attackRows.push(row);
        if (s.success && s.iterations > 0) found.push({ row, pixels: s.pixels, image: i });
      });
    });
  };

  const everyImage = valid.map((_, i) => i);
  for (const a of plan.attacks) {
    const samples = await stage(
      a.id,
      (c) => attackRunner(a.kind).run(a, { classifier: c, pixels: x, labels, seedOf, signal }),
    );
    addRows(a.id, a.kind, a.norm, a.eps, samples, everyImage, false, base.gradientMode);
  }

  if (plan.squeeze && found.length > 0) {
    const adversarial = stack(found.map((f) => f.pixels), size);
    const joint = await stage("squeeze", (c) => squeezeJoint(adversarial, found.length, c));
    found.forEach((f, k) => f.row.squeeze = joint[k]);
  }

  const m = plan.minimalEpsilon;
  if (m) {
    const results = await stage(
      "minimalEpsilon",
      (c) =>
        minimalEpsilon(c, x, {
          ...m,
          labels,
          seed: 0,
          seeds: valid.map((_, i) => seedOf(STAGE.minimalEpsilon, i)),
          signal,
        }),
    );
    valid.forEach((v, i) => {
      const res = results[i];
      rowOf.get(v.index)!.minimalEpsilon = { epsilon: res.epsilon, broken: res.broken, bounds: res.bounds };
    });
  }

  const spsa = plan.spsa;
  const sampled = everyImage.filter((i) => input.spsaSample.has(valid[i].index));
  if (spsa && sampled.length > 0 && base.gradientMode === "exact") {
    const xs = stack(sampled.map((i) => valid[i].pixels!), size);
    const ys = Int32Array.from(sampled, (i) => labels[i]);
    const samples: AttackSample[][] = [];
    for (const [k, eps] of spsa.eps.entries()) {
      const results = await stage(
        "spsa",
        (c) =>
          pgd(
            rowSeededSpsa(c, { samples: spsa.samples, delta: spsa.delta, seed: stageSeed(plan.seed, STAGE.spsa) }),
            xs,
            {
              norm: "linf",
              eps,
              alpha: spsa.alpha[k],
              steps: spsa.steps,
              randomStart: false,
              restarts: 1,
              loss: "ce",
              seed: 0,
              labels: ys,
              signal,
            },
          ),
        1,
      );
      samples.push(results.map((q) => ({
        success: q.success,
        iterations: q.iterations,
        prediction: q.adversarial.index,
        perturbation: q.perturbation,
        pixels: q.adversarialPixels,
      })));
    }
    addRows("spsa-linf", "spsa", "linf", spsa.eps, samples, sampled, true, "spsa");
  }

  // Examples: the shard's lowest image indices with a successful white-box attack, each with its
  // smallest-L∞-perturbation success (the first in plan order on ties). The first N of the audit are
  // always among the first N of their shards, so the report's pick does not depend on sharding.
  const examples: ExampleImage[] = [];
  const start = performance.now();
  for (const v of valid) {
    if (examples.length >= plan.examples) break;
    const hits = found.filter((f) => f.row.index === v.index && !f.row.blackBox);
    if (hits.length === 0) continue;
    const best = hits.reduce((a, b) => (b.row.perturbation.linf < a.row.perturbation.linf ? b : a));
    examples.push({
      index: v.index,
      name: v.name,
      label: v.label,
      attack: best.row.attack,
      eps: best.row.eps,
      prediction: best.row.prediction,
      linf: best.row.perturbation.linf,
      clean: pngBase64(v.pixels!, shape),
      adversarial: pngBase64(best.pixels, shape),
      perturbation: pngBase64(amplifiedPerturbation(best.pixels, v.pixels!), shape),
    });
  }
  timings.examples = performance.now() - start;
  attackRows.sort((a, b) => a.index - b.index);
  return result(examples, determinism);
}
