import assert from "node:assert/strict";
import { estimateFgsmCost } from "../attacks/fgsm.ts";
import { randomLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import { DEFAULT_CHECK_LIMITS } from "./limits.ts";
import { checkLimits, estimateCheckCost, parseCheckOptions, resolveOptions, serverDefaults } from "./options.ts";
import { PROBES } from "./probes/index.ts";

const grey = randomLinearSoftmax({ seed: 1, classes: 3, channels: 1, height: 4, width: 4, scale: 1 });
const model = { manifest: grey.manifest, gradientMode: "exact" as const };
const resolve = (...layers: unknown[]) => resolveOptions(model, ...layers.map(parseCheckOptions));

Deno.test("options: the schema and the effective options hold one key per registered probe, in order", () => {
  const keys = Object.keys(serverDefaults(model));
  assert.deepEqual(keys, ["label", "target", "seed", "topK", ...PROBES.map((p) => p.key), "return"]);
});

Deno.test("options: a step not given is 2.5·ε/steps; minimalEpsilon's alphaFactor is 2.5/steps", () => {
  const o = resolve({
    pgd: [{ eps: 0.2, steps: 8 }, { eps: 0.2, steps: 8, alpha: 0.3 }],
    randomization: { eot: { steps: 4, eps: 0.1 } },
    minimalEpsilon: { steps: 20 },
  });
  assert.ok(o.pgd && o.randomization && o.randomization.eot && o.minimalEpsilon);
  assert.equal(o.pgd[0].alpha, 2.5 * 0.2 / 8);
  assert.equal(o.pgd[1].alpha, 0.3);
  assert.equal(o.randomization.eot.alpha, 2.5 * 0.1 / 4);
  // The fix: steps alone used to keep the default 0.25.
  assert.equal(o.minimalEpsilon.alphaFactor, 2.5 / 20);
  const given = resolve({ minimalEpsilon: { steps: 20, alphaFactor: 0.3 } }).minimalEpsilon;
  assert.ok(given);
  assert.equal(given.alphaFactor, 0.3);
  const kept = resolve({ minimalEpsilon: { steps: 5, alphaFactor: 0.3 } }, { minimalEpsilon: { high: 0.4 } });
  assert.ok(kept.minimalEpsilon);
  assert.equal(kept.minimalEpsilon.alphaFactor, 0.3, "a later layer without steps keeps the earlier factor");
  const defaults = serverDefaults(model);
  assert.ok(defaults.minimalEpsilon);
  assert.equal(defaults.minimalEpsilon.alphaFactor, 2.5 / defaults.minimalEpsilon.steps);
});

Deno.test("options: false turns a probe off; a later layer turns it back on from its full defaults", () => {
  const o = resolve({ fgsm: false, squeeze: false }, { squeeze: { threshold: 0.2 } });
  assert.equal(o.fgsm, false);
  const defaults = serverDefaults(model);
  assert.ok(defaults.squeeze);
  assert.deepEqual(o.squeeze, { squeezers: defaults.squeeze.squeezers, threshold: 0.2 });
  const spsa = serverDefaults({ ...model, gradientMode: "spsa" });
  assert.equal(spsa.minimalEpsilon, false);
  assert.ok(spsa.randomization && spsa.randomization.eot === false);
  assert.ok(spsa.pgd && spsa.pgd.length === 1 && spsa.pgd[0].steps === 10);
});

Deno.test("options: each limit violation names the limit; cost sums the probes", () => {
  const cases: [unknown, RegExp][] = [
    [{ pgd: [{ eps: 0.1, steps: 5000 }] }, /maxSteps: PGD steps/],
    [{ fgsm: { eps: new Array(17).fill(0.1) } }, /maxEpsList/],
    [{ randomization: { draws: 1000 } }, /maxDraws/],
    [{ minimalEpsilon: { bisectionSteps: 31 } }, /maxBisectionSteps/],
    [{ squeeze: { squeezers: new Array(9).fill({ kind: "median", size: 2 }) } }, /maxSqueezers/],
    [{ label: 3 }, /options\.label: 3 is not a class index/],
  ];
  for (const [layer, message] of cases) {
    assert.throws(() => checkLimits(resolve(layer), model, DEFAULT_CHECK_LIMITS), message);
  }
  const off = resolve({
    squeeze: false,
    randomization: false,
    pgd: false,
    minimalEpsilon: false,
    fgsm: { eps: [0.1] },
  });
  assert.equal(estimateCheckCost(off, 2), 1 + estimateFgsmCost({ images: 1, epsCount: 1, gradientCost: 2 }));
});
