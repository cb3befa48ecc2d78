/**
 * The README's check conventions, each pinned over HTTP with a case where the plausible alternative
 * gives a different answer (a misclassified image sent with its true label, parts of the score that
 * differ, an agreement of exactly 0.5, a non-integral n·(1 − fpr)). Images are the committed
 * Fashion-MNIST fixtures; the model is the shipped fashion-cnn. Each case first asserts that the
 * alternative would indeed differ, so the test cannot pass by accident.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import { createRng } from "../kernels/rng.ts";
import { drawResizePad, resizePadForward } from "../kernels/resize.ts";
import { bitDepth } from "../kernels/squeeze.ts";
import {
  imageRequest,
  jsonRequest,
  type LabelledImage,
  loadFixtureImages,
  MODELS_DIR,
  startTestServer,
} from "./support/server.ts";

// deno-lint-ignore no-explicit-any
type Report = any;

const SHAPE = { channels: 1, height: 28, width: 28 } as const;
const DRAWS = 20;
/** Screening only: the probes that cost gradients are off unless a case turns them on. */
const SCREEN = { fgsm: false, pgd: false, minimalEpsilon: false, randomization: { draws: DRAWS, eot: false } };

function greyPixels(png: Uint8Array): Float32Array {
  const image = PNG.sync.read(Buffer.from(png));
  assert.equal(image.width * image.height, 28 * 28);
  return Float32Array.from({ length: 28 * 28 }, (_, i) => image.data[4 * i] / 255);
}

/** A grey PNG of pixels that are exact multiples of 1/255. */
function greyPng(pixels: Float32Array): Uint8Array {
  const png = new PNG({ width: 28, height: 28 });
  pixels.forEach((v, i) => {
    const byte = Math.round(v * 255);
    assert.ok(Math.abs(byte - v * 255) < 1e-4, "pixel is not on the 8-bit grid");
    png.data.set([byte, byte, byte, 255], 4 * i);
  });
  return new Uint8Array(PNG.sync.write(png));
}

function votesOf(report: Report): Record<number, number> {
  return Object.fromEntries(
    report.randomization.votes.map((v: { index: number; count: number }) => [v.index, v.count]),
  );
}

Deno.test("check conventions over HTTP (score, agreement, label, verdict, squeezing, seeds, threshold)", async (t) => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  const base = `${server.url}/v1/models/fashion-cnn`;
  const check = async (image: LabelledImage, options: unknown): Promise<Report> => {
    const response = await fetch(`${base}/check`, jsonRequest({ image: image.bytes.toBase64(), options }));
    assert.equal(response.status, 200, await response.clone().text());
    return await response.json();
  };
  const probabilities = async (png: Uint8Array): Promise<number[]> => {
    const response = await fetch(`${base}/predict?topK=10`, imageRequest(png));
    assert.equal(response.status, 200);
    const { prediction } = await response.json();
    const p = new Array(10).fill(0);
    for (const r of prediction.topK) p[r.index] = r.probability;
    return p;
  };
  try {
    const images = await loadFixtureImages("fashion", 30);
    // 0004: a Shirt, correctly classified, whose randomized resizes disagree 8 of 20 times at seed 7.
    // 0012: a Sneaker (7) that fashion-cnn calls Sandal (5); most resizes also say Sandal.
    // 0017: a Coat on which most resizes disagree (agreement 0.35 at seed 7).
    const [shirt, sneaker, coat] = [images[4], images[12], images[17]];

    await t.step("score = 0.5·fragility + 0.3·squeeze + 0.2·instability, each part as documented", async () => {
      const threshold = 0.6;
      const r = await check(shirt, {
        ...SCREEN,
        label: shirt.label,
        seed: 7,
        minimalEpsilon: {},
        squeeze: { threshold },
      });
      const { fragility, squeeze, instability } = r.scoreParts;
      assert.equal(r.minimalEpsilon.broken, true);
      assert.equal(fragility, 1 - r.minimalEpsilon.linf / r.options.minimalEpsilon.high);
      assert.equal(squeeze, Math.min(1, r.squeeze.joint / (2 * threshold)));
      assert.equal(instability, 1 - r.randomization.agreement);
      const parts = [fragility, squeeze, instability];
      // Every part is present and they differ, so any other assignment of the weights changes the score.
      for (let i = 0; i < 3; i++) {
        assert.ok(parts[i] > 0.05, `part ${i} = ${parts[i]}`);
        for (let j = 0; j < i; j++) assert.ok(Math.abs(parts[i] - parts[j]) > 0.05, `parts ${parts}`);
      }
      assert.ok(Math.abs(r.score - (0.5 * fragility + 0.3 * squeeze + 0.2 * instability)) < 1e-12, `${r.score}`);
    });

    await t.step("agreement is the share of resizes predicting the clean class, not the requested label", async () => {
      const r = await check(sneaker, { ...SCREEN, label: sneaker.label, seed: 7 });
      assert.equal(r.label.index, 7);
      assert.equal(r.prediction.index, 5);
      const votes = votesOf(r);
      assert.notEqual(votes[5] ?? 0, votes[7] ?? 0);
      assert.equal(r.randomization.agreement, (votes[5] ?? 0) / DRAWS);
      assert.equal(r.scoreParts.instability, 1 - (votes[5] ?? 0) / DRAWS);
      assert.ok(r.randomization.agreement >= 0.5, "the resizes agree with the (wrong) clean prediction");
      assert.equal(r.verdict.suspectedAdversarial, false);
      assert.ok(r.verdict.reasons.some((s: string) => s.includes("already differs")), r.verdict.reasons.join("; "));
    });

    await t.step(
      "label defaults to the clean prediction; minimal ε is 0 when the label is already missed",
      async () => {
        const unlabelled = await check(sneaker, { ...SCREEN, seed: 7, minimalEpsilon: {} });
        assert.deepEqual(unlabelled.label, { index: 5, label: "Sandal", source: "prediction" });
        assert.ok(unlabelled.minimalEpsilon.linf > 0, "attacking the prediction needs some ε");
        const labelled = await check(sneaker, { ...SCREEN, label: 7, seed: 7, minimalEpsilon: {} });
        assert.equal(labelled.minimalEpsilon.linf, 0);
        assert.equal(labelled.minimalEpsilon.broken, true);
        assert.equal(labelled.scoreParts.fragility, 1);
      },
    );

    await t.step("suspectedAdversarial = flagged or agreement < 0.5 (exactly 0.5 is not suspected)", async () => {
      const noFlag = { threshold: 10 };
      const half = await check(shirt, { ...SCREEN, seed: 2, squeeze: noFlag });
      assert.equal(half.randomization.agreement, 0.5);
      assert.equal(half.squeeze.flagged, false);
      assert.equal(half.verdict.suspectedAdversarial, false);
      const unstable = await check(coat, { ...SCREEN, seed: 7, squeeze: noFlag });
      assert.ok(unstable.randomization.agreement < 0.5);
      assert.equal(unstable.verdict.suspectedAdversarial, true);
      const flagged = await check(shirt, { ...SCREEN, seed: 7, squeeze: { threshold: 0.1 } });
      assert.ok(flagged.randomization.agreement >= 0.5);
      assert.equal(flagged.squeeze.flagged, true);
      assert.equal(flagged.verdict.suspectedAdversarial, true);
      const calm = await check(shirt, { ...SCREEN, seed: 7, squeeze: noFlag });
      assert.equal(calm.verdict.suspectedAdversarial, false);
    });

    await t.step("flagged only when joint > threshold; the squeeze part is 0.5 at the threshold", async () => {
      const probe = await check(shirt, { ...SCREEN, seed: 7, randomization: false });
      const joint = probe.squeeze.joint;
      assert.equal(probe.squeeze.thresholdSource, "manifest");
      const at = await check(shirt, { ...SCREEN, seed: 7, randomization: false, squeeze: { threshold: joint } });
      assert.equal(at.squeeze.thresholdSource, "request");
      assert.equal(at.squeeze.flagged, false);
      assert.equal(at.scoreParts.squeeze, 0.5);
      const below = await check(shirt, {
        ...SCREEN,
        seed: 7,
        randomization: false,
        squeeze: { threshold: joint * 0.999 },
      });
      assert.equal(below.squeeze.flagged, true);
    });

    await t.step("fragility without the minimal-ε search is the share of successful probes", async () => {
      const r = await check(shirt, {
        ...SCREEN,
        label: shirt.label,
        randomization: false,
        fgsm: { eps: [0.001, 0.25] },
      });
      assert.deepEqual(r.probes.map((p: Report) => p.success), [false, true]);
      assert.equal(r.scoreParts.fragility, 0.5);
      assert.equal(r.verdict.fragile, true);
    });

    await t.step("a PGD probe without alpha steps 2.5·ε/steps (Madry et al.)", async () => {
      const r = await check(shirt, { ...SCREEN, squeeze: false, randomization: false, pgd: [{ eps: 0.1, steps: 8 }] });
      assert.equal(r.probes[0].alpha, 2.5 * 0.1 / 8);
      assert.equal(r.options.pgd[0].alpha, 2.5 * 0.1 / 8);
    });

    await t.step("squeeze score = L1 distance of the softmax vectors (clean vs squeezed, via /predict)", async () => {
      const r = await check(shirt, {
        ...SCREEN,
        randomization: false,
        squeeze: { squeezers: [{ kind: "bitDepth", bits: 1 }] },
      });
      const clean = await probabilities(shirt.bytes);
      const squeezed = await probabilities(greyPng(bitDepth(greyPixels(shirt.bytes), 1)));
      const l1 = clean.reduce((s, p, j) => s + Math.abs(p - squeezed[j]), 0);
      const l2 = Math.sqrt(clean.reduce((s, p, j) => s + (p - squeezed[j]) ** 2, 0));
      assert.ok(Math.abs(l1 - l2) > 0.01, "L1 and L2 should differ for this image");
      assert.ok(Math.abs(r.squeeze.scores["bitDepth:1"] - l1) < 1e-5, `${r.squeeze.scores["bitDepth:1"]} vs ${l1}`);
    });

    await t.step("randomization draws come from stage 1's seed (seed + 0x9E3779B9) mod 2³²", async () => {
      const seed = 7;
      const r = await check(shirt, { ...SCREEN, seed, squeeze: false });
      const pixels = greyPixels(shirt.bytes);
      const votesFor = async (streamSeed: number): Promise<Record<number, number>> => {
        const rng = createRng(streamSeed);
        const votes: Record<number, number> = {};
        for (let d = 0; d < DRAWS; d++) {
          const t = drawResizePad(rng.next, r.options.randomization);
          const p = await probabilities(greyPng(resizePadForward(pixels, { n: 1, ...SHAPE }, t)));
          const k = p.indexOf(Math.max(...p));
          votes[k] = (votes[k] ?? 0) + 1;
        }
        return votes;
      };
      const stage = await votesFor((seed + 0x9e3779b9) >>> 0);
      assert.notDeepEqual(await votesFor(seed), stage, "the request seed itself would give other votes");
      assert.deepEqual(votesOf(r), stage);
    });

    await t.step("calibrated threshold = sorted[⌈n·(1 − fpr)⌉ − 1]; a request threshold still wins", async () => {
      // n = 7, fpr = 0.1: ⌈6.3⌉ = 7, so the largest clean score (⌊·⌋ would take the 6th).
      const set = images.slice(0, 7);
      const joints: number[] = [];
      for (const image of set) joints.push((await check(image, { ...SCREEN, randomization: false })).squeeze.joint);
      const sorted = [...joints].sort((a, b) => a - b);
      assert.ok(sorted[6] > sorted[5]);
      const response = await fetch(
        `${base}/calibrate`,
        jsonRequest({ images: set.map((i) => i.bytes.toBase64()), options: { fpr: 0.1 } }),
      );
      assert.equal(response.status, 200, await response.clone().text());
      const calibration = await response.json();
      assert.ok(Math.abs(calibration.threshold - sorted[6]) < 1e-6, `${calibration.threshold} vs ${sorted}`);
      assert.equal(calibration.fpr, 0);
      const calibrated = await check(shirt, { ...SCREEN, randomization: false });
      assert.equal(calibrated.squeeze.thresholdSource, "calibration");
      const requested = await check(shirt, { ...SCREEN, randomization: false, squeeze: { threshold: 0.3 } });
      assert.equal(requested.squeeze.thresholdSource, "request");
      assert.equal(requested.squeeze.threshold, 0.3);
    });
  } finally {
    await server.shutdown();
  }
});
