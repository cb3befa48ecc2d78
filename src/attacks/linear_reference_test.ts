/**
 * The attack engine on the exact softmax-regression model (weights exported by
 * tools/attack_fixtures.py) against the torch reference: no ONNX runtime or derived gradient
 * involved, so this isolates the engine. Logits here are float64 sums, torch's are float32, so
 * an image sitting on a decision boundary may flip; agreement is a rate.
 */
import assert from "node:assert/strict";
import { fgsm } from "./fgsm.ts";
import { pgd } from "./pgd.ts";
import { createLinearSoftmax, type LinearSoftmax } from "./testdata/linear_softmax.ts";
import {
  agreement,
  minimalEpsilonVsReference,
  readAttackFixture,
  readFixtureImages,
  repoUrl,
  sha256Hex,
} from "./testdata/reference_fixtures.ts";

const D = 784;
const K = 10;

async function fashionLinear(): Promise<LinearSoftmax> {
  const bytes = await Deno.readFile(repoUrl("tests/fixtures/attacks/fashion-linear-weights.bin"));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.equal(bytes.byteLength, 4 * (K * D + K));
  const values = Float64Array.from({ length: K * D + K }, (_, i) => view.getFloat32(4 * i, true));
  return createLinearSoftmax({
    weights: values.subarray(0, K * D),
    bias: values.subarray(K * D),
    channels: 1,
    height: 28,
    width: 28,
  });
}

Deno.test("engine on the exact linear model agrees with the torch reference", async () => {
  const model = await fashionLinear();
  const fixture = await readAttackFixture("fashion-linear");
  const onnx = await Deno.readFile(repoUrl("tests/fixtures/models/fashion-linear/model.onnx"));
  assert.equal(
    await sha256Hex(onnx),
    fixture.modelSha256,
    "fashion-linear changed since the reference was computed: rerun tools/attack_fixtures.py",
  );
  const { pixels, labels } = await readFixtureImages("fashion", 1);
  const n = labels.length;

  const z = await model.logits(pixels, n);
  const clean = Array.from({ length: n }, (_, i) => {
    const row = Array.from(z.subarray(i * K, (i + 1) * K));
    return row.indexOf(Math.max(...row));
  });
  assert.ok(agreement(clean.map((c, i) => c === fixture.clean[i]), clean.map(() => 1)) >= 0.99);

  const f = await fgsm(model, pixels, { labels, eps: fixture.fgsm.eps, loss: fixture.fgsm.loss });
  fixture.fgsm.eps.forEach((eps, k) => {
    const ours = f.map((r) => r[k].success);
    const a = agreement(ours, fixture.fgsm.success.map((s) => s[k]));
    assert.ok(a >= 0.99, `fgsm ε=${eps}: agreement ${a}`);
    if (eps === 0.25) {
      const rate = ours.filter(Boolean).length / n;
      assert.ok(rate >= 0.95, `fgsm ε=0.25 fools only ${rate}`);
    }
  });

  for (const cfg of fixture.pgd) {
    const results = await pgd(model, pixels, {
      norm: cfg.norm,
      eps: cfg.eps,
      alpha: cfg.alpha,
      steps: cfg.steps,
      randomStart: false,
      restarts: 1,
      loss: cfg.loss,
      seed: 0,
      labels,
      targets: cfg.targeted ? labels.map((y) => (y + 1) % K) : undefined,
    });
    const a = agreement(results.map((r) => r.success), cfg.success);
    assert.ok(a >= 0.99, `pgd ${cfg.name}: agreement ${a}`);
    // Where both succeed, the first adversarial iterate is the same in almost every case.
    const both = results.flatMap((r, i) => r.success && cfg.success[i] ? [r.iterations === cfg.iterations[i]] : []);
    assert.ok(both.filter(Boolean).length >= 0.97 * both.length, `pgd ${cfg.name}: iterations differ`);
  }

  const { agreement: a } = await minimalEpsilonVsReference(model, pixels, labels, fixture.minimalEpsilon);
  assert.ok(a >= 0.95, `minimal ε within one bisection step on ${a}`);
});
