import { RequestError } from "../errors.ts";
import type { Classifier } from "../model/classifier.ts";
import { gradientCostOf } from "../model/gradient_cost.ts";
import type { CheckLimits } from "./limits.ts";
import {
  checkLimits,
  type CheckOptionsInput,
  type EffectiveOptions,
  estimateCheckCost,
  parseCheckOptions,
  resolveOptions,
} from "./options.ts";
import type { ModelFacts, SqueezeThreshold, ThresholdSource } from "./probe.ts";
import { squeezeThreshold } from "./probes/squeeze.ts";
import type { Squeezer } from "./squeeze.ts";
import { type CheckReport, runCheck } from "./run_check.ts";

/** What the check needs from the calibration store (src/calibration's CalibrationStore has it). */
export interface CalibrationLookup {
  get(modelId: string, sha256: string): Promise<{ threshold: number; squeezers: string[] } | null>;
}

export interface CheckServiceInput {
  classifier: Classifier;
  pixels: Float32Array;
  rawOptions: unknown;
  calibrations: CalibrationLookup;
  limits: CheckLimits;
}

/** The manifest's check layer (validated by the registry when the model loaded), then the request's. */
function optionLayers(model: ModelFacts, request: CheckOptionsInput): CheckOptionsInput[] {
  const manifestLayer = model.manifest.defaults?.check;
  return manifestLayer ? [parseCheckOptions(manifestLayer), request] : [request];
}

/** The options a check without request options runs with (server defaults + the manifest's layer). */
export function modelDefaultOptions(model: ModelFacts): EffectiveOptions {
  return resolveOptions(model, ...optionLayers(model, {}));
}

/**
 * Validates the options (request over manifest over server defaults), refuses work over the
 * limits or the compute budget before running anything, picks the squeeze threshold, and runs.
 */
export async function checkImage(input: CheckServiceInput): Promise<CheckReport> {
  const { classifier, limits } = input;
  const { manifest } = classifier;
  const model = { manifest, gradientMode: classifier.gradientMode };
  const request = parseCheckOptions(input.rawOptions);
  const options = resolveOptions(model, ...optionLayers(model, request));
  checkLimits(options, model, limits);
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
  const threshold: SqueezeThreshold = options.squeeze
    ? squeezeThreshold({
      settings: options.squeeze,
      request: request.squeeze || undefined,
      calibration: await input.calibrations.get(manifest.id, classifier.sha256),
      manifestThreshold: manifest.defaults?.squeezeThreshold,
    })
    : { value: null, source: "none" };
  return await runCheck({ classifier, pixels: input.pixels, options, threshold, budget: limits.maxCost });
}

/** The squeeze threshold a check with default options would use (GET /v1/models/{id}). */
export async function defaultSqueezeThreshold(
  classifier: Pick<Classifier, "manifest" | "gradientMode" | "sha256">,
  calibrations: CalibrationLookup,
): Promise<{ value: number | null; source: Exclude<ThresholdSource, "request">; squeezers: Squeezer[] }> {
  const options = modelDefaultOptions({ manifest: classifier.manifest, gradientMode: classifier.gradientMode });
  if (!options.squeeze) return { value: null, source: "none", squeezers: [] };
  const threshold = squeezeThreshold({
    settings: options.squeeze,
    calibration: await calibrations.get(classifier.manifest.id, classifier.sha256),
    manifestThreshold: classifier.manifest.defaults?.squeezeThreshold,
  });
  // Without a request the rule never answers "request".
  return {
    ...threshold as { value: number | null; source: Exclude<ThresholdSource, "request"> },
    squeezers: options.squeeze.squeezers,
  };
}
