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
