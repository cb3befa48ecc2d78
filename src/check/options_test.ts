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
  assert.ok(PROBES.every((p) => typeof p.profiles.screen === "function" && typeof p.profiles.thorough === "function"));
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

const colour = randomLinearSoftmax({ seed: 2, classes: 4, channels: 3, height: 8, width: 8, scale: 1 });
const colourModel = { manifest: colour.manifest, gradientMode: "exact" as const };

Deno.test("options: standard is the server defaults; screen keeps squeezing, draws without EoT and FGSM only", () => {
  for (const m of [model, colourModel, { ...model, gradientMode: "spsa" as const }]) {
    assert.deepEqual(resolveOptions(m, parseCheckOptions({ profile: "standard" })), serverDefaults(m));
    const screen = resolveOptions(m, parseCheckOptions({ profile: "screen" }));
    const standard = serverDefaults(m);
    assert.deepEqual(screen.squeeze, standard.squeeze);
    assert.deepEqual(screen.fgsm, standard.fgsm);
    assert.ok(screen.randomization && standard.randomization);
    assert.equal(screen.randomization.eot, false);
    assert.equal(screen.randomization.draws, standard.randomization.draws);
    assert.equal(screen.pgd, false);
    assert.equal(screen.minimalEpsilon, false);
    assert.equal(screen.sweep, false);
  }
});

Deno.test("options: screen on inputs above 64×64 runs bit depth + median, 3 draws and FGSM at the budget only", () => {
  const facts = (channels: 1 | 3, height: number, width: number) => ({
    manifest: randomLinearSoftmax({ seed: 5, classes: 4, channels, height, width, scale: 1 }).manifest,
    gradientMode: "exact" as const,
  });
  const screenOf = (m: ReturnType<typeof facts>) => resolveOptions(m, parseCheckOptions({ profile: "screen" }));
  const large = screenOf(facts(3, 224, 224));
  assert.deepEqual(large.squeeze && large.squeeze.squeezers, [{ kind: "bitDepth", bits: 5 }, {
    kind: "median",
    size: 2,
  }]);
  assert.deepEqual(large.fgsm, { eps: [8 / 255] });
  assert.ok(large.randomization);
  assert.deepEqual([large.randomization.draws, large.randomization.eot], [3, false]);
  // 1 clean + 2 squeezed + 3 draws + FGSM (one gradient row = 2, one ε row).
  assert.equal(estimateCheckCost(large, 2), 9);
  const wide = screenOf(facts(3, 48, 192));
  assert.deepEqual(wide.squeeze, large.squeeze, "a 48×192 input is large too");
  const grey = screenOf(facts(1, 96, 96));
  assert.deepEqual(grey.squeeze && grey.squeeze.squeezers, [{ kind: "bitDepth", bits: 1 }, {
    kind: "median",
    size: 2,
  }]);
  assert.deepEqual(grey.fgsm, { eps: [0.1] });
  // 64×64 is still small: screen keeps the standard squeezers, draws and ε.
  const edge = facts(3, 64, 64);
  const small = screenOf(edge);
  const standard = serverDefaults(edge);
  assert.deepEqual([small.squeeze, small.fgsm], [standard.squeeze, standard.fgsm]);
  assert.ok(small.randomization && standard.randomization);
  assert.equal(small.randomization.draws, standard.randomization.draws);
  // standard and thorough do not depend on the input size.
  const big = facts(3, 224, 224);
  const bigStandard = serverDefaults(big);
  assert.ok(bigStandard.squeeze && bigStandard.randomization);
  assert.equal(bigStandard.squeeze.squeezers.length, 3);
  assert.deepEqual([bigStandard.fgsm, bigStandard.randomization.draws], [{ eps: [2 / 255, 4 / 255, 8 / 255] }, 20]);
});

Deno.test("options: thorough runs PGD 50 steps × 4 random restarts, EoT 20×16 over 40 draws, 12 bisection points", () => {
  const o = resolveOptions(colourModel, parseCheckOptions({ profile: "thorough" }));
  assert.ok(o.pgd && o.randomization && o.randomization.eot && o.minimalEpsilon);
  assert.deepEqual(o.pgd.map((p) => [p.norm, p.steps, p.restarts, p.randomStart]), [
    ["linf", 50, 4, true],
    ["l2", 50, 4, true],
  ]);
  assert.equal(o.pgd[0].alpha, 2.5 * o.pgd[0].eps / 50);
  assert.deepEqual([o.randomization.draws, o.randomization.eot.steps, o.randomization.eot.samples], [40, 20, 16]);
  assert.deepEqual(
    [o.minimalEpsilon.bisectionSteps, o.minimalEpsilon.steps, o.minimalEpsilon.randomStart],
    [12, 20, true],
  );
  assert.equal(o.minimalEpsilon.alphaFactor, 2.5 / 20);
  checkLimits(o, colourModel, DEFAULT_CHECK_LIMITS);
  const spsa = resolveOptions({ ...colourModel, gradientMode: "spsa" }, parseCheckOptions({ profile: "thorough" }));
  assert.deepEqual(spsa.pgd, serverDefaults({ ...colourModel, gradientMode: "spsa" }).pgd, "SPSA keeps its PGD");
  assert.equal(spsa.minimalEpsilon, false);
});

Deno.test("options: explicit options override the profile; the request's profile beats the manifest's", () => {
  const o = resolve({ profile: "screen", pgd: [{ eps: 0.1, steps: 5 }], randomization: { draws: 4 } });
  assert.ok(o.pgd && o.randomization);
  assert.equal(o.pgd.length, 1);
  assert.equal(o.pgd[0].steps, 5);
  assert.equal(o.randomization.draws, 4);
  assert.equal(o.randomization.eot, false, "the profile's EoT stays off under a layer that does not name it");
  const layered = resolve({ profile: "thorough", minimalEpsilon: { high: 0.3 } }, { profile: "screen" });
  assert.equal(layered.pgd, false, "the last layer's profile wins");
  assert.ok(layered.minimalEpsilon, "an explicit probe layer still applies over the chosen profile");
  assert.equal(layered.minimalEpsilon.high, 0.3);
  const kept = resolve({ profile: "thorough" }, { minimalEpsilon: { high: 0.3 } });
  assert.ok(kept.minimalEpsilon && kept.pgd);
  assert.equal(kept.minimalEpsilon.bisectionSteps, 12, "a layer without a profile keeps the earlier one's");
  assert.throws(() => parseCheckOptions({ profile: "fast" }), /options\.profile/);
});

Deno.test("options: cost grows screen < standard < thorough on the linear models", () => {
  for (const m of [model, colourModel]) {
    const [screen, standard, thorough] = (["screen", "standard", "thorough"] as const).map((profile) =>
      estimateCheckCost(resolveOptions(m, parseCheckOptions({ profile })), 2)
    );
    assert.ok(screen < standard && standard < thorough, `${screen} < ${standard} < ${thorough}`);
    assert.ok(thorough <= DEFAULT_CHECK_LIMITS.maxCost);
  }
});
