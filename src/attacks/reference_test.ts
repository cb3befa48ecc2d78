/**
 * Agreement with the independent torch reference (tools/attack_fixtures.py) on the committed
 * Fashion-MNIST images and the real ONNX models, run through the real runtime (WASM backend,
 * derived exact gradients). Kernels differ in float32 summation order, so success flags are
 * compared as an agreement rate, never bit for bit.
 */
import assert from "node:assert/strict";
import { startWorkerPool } from "../runtime/worker_pool.ts";
import { fgsm } from "./fgsm.ts";
import { pgd } from "./pgd.ts";
import {
  agreement,
  loadFixtureModel,
  median,
  minimalEpsilonVsReference,
  readAttackFixture,
  readFixtureImages,
} from "./testdata/reference_fixtures.ts";

/** Model id → [model directory, image set under tests/fixtures/] (as in tools/attack_fixtures.py). */
const MODELS: Record<string, [string, string]> = {
  "fashion-linear": ["tests/fixtures/models/fashion-linear/", "fashion"],
  "fashion-cnn": ["models/fashion-cnn/", "fashion"],
  "fashion-cnn-robust": ["models/fashion-cnn-robust/", "fashion"],
  "fashion-rgb": ["models/fashion-rgb/", "fashion-rgb"],
};
/** PGD runs on this many leading images (FGSM on all of them) to bound the test's run time. */
const PGD_IMAGES = 200;
const AGREEMENT = 0.97;

const rate = (flags: readonly boolean[]): number => flags.filter(Boolean).length / flags.length;

Deno.test({
  name: "attacks agree with the torch reference on the shipped ONNX models",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const engine = await startWorkerPool({ backend: "wasm", threads: 2, workers: 1 });
    const medians: Record<string, number> = {};
    try {
      for (const [id, [dir, set]] of Object.entries(MODELS)) {
        await t.step(id, async () => {
          const fixture = await readAttackFixture(id);
          const classifier = await loadFixtureModel(dir, engine);
          try {
            assert.equal(
              classifier.sha256,
              fixture.modelSha256,
              `${dir}model.onnx changed since the reference was computed: rerun tools/attack_fixtures.py`,
            );
            assert.equal(classifier.gradientMode, "exact");
            const { channels, height, width } = classifier.manifest.input;
            const size = channels * height * width;
            const classes = classifier.manifest.labels.length;
            const { pixels, labels } = await readFixtureImages(set, channels);
            const n = labels.length;

            const z = await classifier.logits(pixels, n);
            const clean = Array.from({ length: n }, (_, i) => {
              const row = Array.from(z.subarray(i * classes, (i + 1) * classes));
              return row.indexOf(Math.max(...row)) === fixture.clean[i];
            });
            assert.ok(rate(clean) >= 0.99, `${id}: clean predictions agree on ${rate(clean)}`);

            const f = await fgsm(classifier, pixels, {
              labels,
              eps: fixture.fgsm.eps,
              loss: fixture.fgsm.loss,
            });
            fixture.fgsm.eps.forEach((eps, k) => {
              const ours = f.map((r) => r[k].success);
              const a = agreement(ours, fixture.fgsm.success.map((s) => s[k]));
              console.log(`${id} fgsm ε=${eps}: fooled ${rate(ours)}, agreement ${a}`);
              assert.ok(a >= AGREEMENT, `${id} fgsm ε=${eps}: agreement ${a}`);
              if (id === "fashion-linear" && eps === 0.25) assert.ok(rate(ours) >= 0.95);
            });

            const m = Math.min(PGD_IMAGES, n);
            const y = labels.slice(0, m);
            for (const cfg of fixture.pgd) {
              const results = await pgd(classifier, pixels.subarray(0, m * size), {
                norm: cfg.norm,
                eps: cfg.eps,
                alpha: cfg.alpha,
                steps: cfg.steps,
                randomStart: false,
                restarts: 1,
                loss: cfg.loss,
                seed: 0,
                labels: y,
                targets: cfg.targeted ? y.map((v) => (v + 1) % classes) : undefined,
              });
              const ours = results.map((r) => r.success);
              const a = agreement(ours, cfg.success.slice(0, m));
              console.log(`${id} pgd ${cfg.name}: success ${rate(ours)}, agreement ${a}`);
              assert.ok(a >= AGREEMENT, `${id} pgd ${cfg.name}: agreement ${a}`);
              const both = results.flatMap((r, i) =>
                r.success && cfg.success[i] ? [r.iterations === cfg.iterations[i]] : []
              );
              assert.ok(rate(both) >= AGREEMENT, `${id} pgd ${cfg.name}: first iterates agree on ${rate(both)}`);
            }

            const { results: eps, agreement: a } = await minimalEpsilonVsReference(
              classifier,
              pixels,
              labels,
              fixture.minimalEpsilon,
            );
            // Unbroken images count as +∞ for the median.
            medians[id] = median(eps.map((r) => r.epsilon ?? Infinity));
            console.log(`${id} minimal ε: median ${medians[id]}, within one bisection step on ${a}`);
            assert.ok(a >= 0.9, `${id} minimal ε agrees on ${a}`);
          } finally {
            await classifier.release();
          }
        });
      }
      const robust = medians["fashion-cnn-robust"];
      const plain = medians["fashion-cnn"];
      assert.ok(robust >= 2 * plain, `robust median ε ${robust} vs plain ${plain}`);
    } finally {
      engine.close();
    }
  },
});
