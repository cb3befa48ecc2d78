import type { CalibrationStore } from "../calibration/store.ts";
import { RequestError } from "../errors.ts";
import type { Classifier } from "../model/classifier.ts";
import { checkLimits, parseCheckOptions, resolveOptions } from "./defaults.ts";
import type { CheckLimits } from "./options.ts";
import { gradientCostOf } from "../model/gradient_cost.ts";
import { type CheckReport, estimateCheckCost, runCheck, type ThresholdSource } from "./run_check.ts";
import { squeezerName } from "./squeeze.ts";

export interface CheckServiceInput {
  classifier: Classifier;
  pixels: Float32Array;
  rawOptions: unknown;
  calibrations: CalibrationStore;
  limits: CheckLimits;
}

/**
 * Validates the options (request over manifest over server defaults), refuses work over the
 * limits or the compute budget before running anything, picks the squeeze threshold, and runs.
 */
export async function checkImage(input: CheckServiceInput): Promise<CheckReport> {
  const { classifier, limits } = input;
  const { manifest } = classifier;
  const request = parseCheckOptions(input.rawOptions);
  const layers = manifest.defaults?.check ? [manifest.defaults.check, request] : [request];
  const options = resolveOptions({ manifest, gradientMode: classifier.gradientMode }, ...layers);
  checkLimits(options, manifest, limits);
  if (options.target !== null && options.target === (options.label ?? -1)) {
    throw new RequestError(422, "invalid_options", "options.target must differ from options.label");
  }
  const cost = estimateCheckCost(options, gradientCostOf(classifier));
  if (cost > limits.maxCost) {
    throw new RequestError(
      422,
      "limit_exceeded",
      `maxCost: these options need up to ${cost} forward-pass equivalents; the limit is ${limits.maxCost}` +
        (classifier.gradientMode === "spsa" ? " (this model uses SPSA gradients, which cost more)" : ""),
    );
  }
  let threshold: { value: number | null; source: ThresholdSource } = { value: null, source: "none" };
  if (options.squeeze) {
    const names = options.squeeze.squeezers.map(squeezerName);
    const calibration = await input.calibrations.get(manifest.id, classifier.sha256);
    const sameSqueezers = (other: string[]) => other.length === names.length && other.every((n, i) => n === names[i]);
    const requestSqueeze = request.squeeze || undefined;
    const requestThreshold = requestSqueeze?.threshold;
    if (requestThreshold !== undefined) threshold = { value: requestThreshold, source: "request" };
    else if (calibration && sameSqueezers(calibration.squeezers)) {
      threshold = { value: calibration.threshold, source: "calibration" };
    } else if (options.squeeze.threshold !== null) {
      threshold = { value: options.squeeze.threshold, source: "manifest" };
    } else if (manifest.defaults?.squeezeThreshold !== undefined && !requestSqueeze?.squeezers) {
      threshold = { value: manifest.defaults.squeezeThreshold, source: "manifest" };
    }
  }
  return await runCheck({ classifier, pixels: input.pixels, options, threshold, budget: limits.maxCost });
}
