import assert from "node:assert/strict";
import { randomLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import { RequestError } from "../errors.ts";
import { DEFAULT_CHECK_LIMITS } from "./limits.ts";
import { type CalibrationLookup, checkImage, defaultSqueezeThreshold } from "./service.ts";

const classifier = randomLinearSoftmax({ seed: 3, classes: 3, channels: 1, height: 4, width: 4, scale: 2 });
const pixels = new Float32Array(16).fill(0.5);
const light = { randomization: false, fgsm: { eps: [0.1] }, pgd: false, minimalEpsilon: false };

const lookup = (squeezers: string[] | null): CalibrationLookup => ({
  get: () => Promise.resolve(squeezers ? { threshold: 0.123, squeezers } : null),
});

const run = (rawOptions: unknown, calibrations = lookup(null)) =>
  checkImage({ classifier, pixels, rawOptions, calibrations, limits: DEFAULT_CHECK_LIMITS });

Deno.test("check service: a target equal to the predicted class with no label is a 422", async () => {
  const predicted = (await run(light)).prediction.index;
  await assert.rejects(() => run({ ...light, target: predicted }), (error) => {
    assert.ok(error instanceof RequestError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "invalid_options");
    assert.match(error.message, /options\.target/);
    return true;
  });
  const other = (predicted + 1) % 3;
  assert.equal((await run({ ...light, target: other })).target?.index, other);
});

Deno.test("check service: /check and the model description apply one squeeze-threshold rule", async () => {
  for (const calibrated of [["bitDepth:1", "median:2"], ["median:3"], null]) {
    const calibrations = lookup(calibrated);
    const report = await run(light, calibrations);
    const described = await defaultSqueezeThreshold(classifier, calibrations);
    assert.ok(report.squeeze);
    assert.deepEqual(
      { value: report.squeeze.threshold, source: report.squeeze.thresholdSource },
      { value: described.value, source: described.source },
    );
    assert.equal(described.source, calibrated?.length === 2 ? "calibration" : "none");
  }
  const requested = await run({ ...light, squeeze: { threshold: 0.5 } }, lookup(["bitDepth:1", "median:2"]));
  assert.equal(requested.squeeze?.thresholdSource, "request");
});

Deno.test("check service: a selected set runs unless the request names squeezers; the description agrees", async () => {
  const set = [{ kind: "median" as const, size: 3 }];
  const selected: CalibrationLookup = {
    get: () => Promise.resolve({ threshold: 0.321, squeezers: ["median:3"], set }),
  };
  const report = await run(light, selected);
  assert.deepEqual(Object.keys(report.squeeze!.scores), ["median:3"]);
  assert.deepEqual({ value: report.squeeze!.threshold, source: report.squeeze!.thresholdSource }, {
    value: 0.321,
    source: "calibration",
  });
  const described = await defaultSqueezeThreshold(classifier, selected);
  assert.deepEqual(described, { value: 0.321, source: "calibration", squeezers: set });

  const named = await run({ ...light, squeeze: { squeezers: [{ kind: "bitDepth", bits: 3 }] } }, selected);
  assert.deepEqual(Object.keys(named.squeeze!.scores), ["bitDepth:3"]);
  assert.equal(named.squeeze!.thresholdSource, "none");
  // A threshold alone keeps the selected set.
  const thresholdOnly = await run({ ...light, squeeze: { threshold: 0.9 } }, selected);
  assert.deepEqual(Object.keys(thresholdOnly.squeeze!.scores), ["median:3"]);
  assert.equal(thresholdOnly.squeeze!.thresholdSource, "request");
  assert.equal((await run({ ...light, squeeze: false }, selected)).squeeze, null);
});

Deno.test("check service: the manifest's threshold holds for its standard squeezers and their subsets only", async () => {
  const base = randomLinearSoftmax({ seed: 4, classes: 3, channels: 3, height: 72, width: 72, scale: 2 });
  // A manifest that picks `screen` for its checks: its thresholds are still the standard set's.
  const large = {
    ...base,
    manifest: {
      ...base.manifest,
      defaults: { squeezeThreshold: 0.25, check: { profile: "screen", squeeze: { threshold: 0.3 } } },
    },
  };
  const image = new Float32Array(3 * 72 * 72).fill(0.4);
  const runLarge = (rawOptions: unknown) =>
    checkImage({
      classifier: large,
      pixels: image,
      rawOptions,
      calibrations: lookup(null),
      limits: DEFAULT_CHECK_LIMITS,
    });
  const screen = await runLarge({});
  assert.deepEqual(Object.keys(screen.squeeze!.scores), ["bitDepth:5", "median:2"]);
  assert.deepEqual([screen.squeeze!.threshold, screen.squeeze!.thresholdSource], [0.3, "manifest"]);
  const standard = await runLarge({ profile: "standard", pgd: false, minimalEpsilon: false, randomization: false });
  assert.equal(Object.keys(standard.squeeze!.scores).length, 3);
  assert.equal(standard.squeeze!.thresholdSource, "manifest");
  const other = await runLarge({ squeeze: { squeezers: [{ kind: "bitDepth", bits: 4 }] } });
  assert.deepEqual([other.squeeze!.threshold, other.squeeze!.thresholdSource], [null, "none"]);
});
