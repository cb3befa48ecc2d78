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
  type ProfileName,
  PROFILES,
  resolveOptions,
} from "./options.ts";
import type { ModelFacts, SqueezeThreshold, ThresholdSource } from "./probe.ts";
import { squeezeProbe, squeezeThreshold } from "./probes/squeeze.ts";
import type { Squeezer } from "./squeeze.ts";
import { type CheckReport, runCheck } from "./run_check.ts";

/** What the check needs from the calibration store (src/calibration's CalibrationStore has it). */
export interface CalibrationLookup {
  get(modelId: string, sha256: string): Promise<StoredCalibration | null>;
}

/** A stored calibration as the check reads it: `set` is present when its squeezers were selected from data. */
export interface StoredCalibration {
  threshold: number;
  squeezers: string[];
  set?: Squeezer[];
}

/**
 * The one rule for which squeezers run (beside the threshold rule, squeezeThreshold): the request's
 * squeezers → the set a selection calibration chose for this model file → the manifest's → the
 * server's. Squeezing turned off (by the request or the manifest) stays off.
 */
export function withCalibratedSqueezers(
  options: EffectiveOptions,
  request: CheckOptionsInput,
  calibration: StoredCalibration | null,
): EffectiveOptions {
  if (!options.squeeze || !calibration?.set || (request.squeeze && request.squeeze.squeezers)) return options;
  return { ...options, squeeze: { ...options.squeeze, squeezers: [...calibration.set] } };
}

export interface CheckServiceInput {
  classifier: Classifier;
  pixels: Float32Array;
  rawOptions: unknown;
  calibrations: CalibrationLookup;
  limits: CheckLimits;
  /** The request's cancellation, passed down to every attack loop. */
  signal?: AbortSignal;
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
 * The squeezers the manifest's thresholds are calibrated for: the `standard` profile's with the
 * manifest's layer over them (whatever profile that layer picks), else the server's.
 */
function manifestSqueezers(model: ModelFacts): Squeezer[] {
  const layer = model.manifest.defaults?.check;
  const { profile: _, ...standardLayer } = layer ? parseCheckOptions(layer) : {};
  const squeeze = resolveOptions(model, standardLayer).squeeze;
  return squeeze ? squeeze.squeezers : squeezeProbe.fallback(model).squeezers;
}

/**
 * Validates the options (request over manifest over server defaults; squeezers: withCalibratedSqueezers),
 * refuses work over the limits or the compute budget before running anything, picks the squeeze
 * threshold, and runs.
 */
export async function checkImage(input: CheckServiceInput): Promise<CheckReport> {
  const { classifier, limits } = input;
  const { manifest } = classifier;
  const model = { manifest, gradientMode: classifier.gradientMode };
  const request = parseCheckOptions(input.rawOptions);
  const calibration = await input.calibrations.get(manifest.id, classifier.sha256);
  const options = withCalibratedSqueezers(resolveOptions(model, ...optionLayers(model, request)), request, calibration);
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
      calibration,
      manifestThreshold: manifest.defaults?.squeezeThreshold,
      manifestSqueezers: manifestSqueezers(model),
    })
    : { value: null, source: "none" };
  return await runCheck({
    classifier,
    pixels: input.pixels,
    options,
    threshold,
    budget: limits.maxCost,
    signal: input.signal,
  });
}

/** The squeeze threshold a check with default options would use (GET /v1/models/{id}). */
export async function defaultSqueezeThreshold(
  classifier: Pick<Classifier, "manifest" | "sha256" | "gradientMode">,
  calibrations: CalibrationLookup,
): Promise<{ value: number | null; source: Exclude<ThresholdSource, "request">; squeezers: Squeezer[] }> {
  const calibration = await calibrations.get(classifier.manifest.id, classifier.sha256);
  const model = { manifest: classifier.manifest, gradientMode: classifier.gradientMode };
  const options = withCalibratedSqueezers(modelDefaultOptions(model), {}, calibration);
  if (!options.squeeze) return { value: null, source: "none", squeezers: [] };
  const threshold = squeezeThreshold({
    settings: options.squeeze,
    calibration,
    manifestThreshold: classifier.manifest.defaults?.squeezeThreshold,
    manifestSqueezers: manifestSqueezers(model),
  });
  // Without a request the rule never answers "request".
  return {
    ...threshold as { value: number | null; source: Exclude<ThresholdSource, "request"> },
    squeezers: options.squeeze.squeezers,
  };
}

/**
 * Each profile's cost estimate for this model in forward-pass equivalents: what a check with only
 * `{profile}` may spend (the manifest's layer and a selected calibration's squeezers included).
 */
export async function profileCosts(
  classifier: Pick<Classifier, "manifest" | "sha256" | "gradientMode">,
  calibrations: CalibrationLookup,
): Promise<{ name: ProfileName; cost: number }[]> {
  const model = { manifest: classifier.manifest, gradientMode: classifier.gradientMode };
  const calibration = await calibrations.get(classifier.manifest.id, classifier.sha256);
  return PROFILES.map((name) => {
    const options = withCalibratedSqueezers(
      resolveOptions(model, ...optionLayers(model, { profile: name })),
      {},
      calibration,
    );
    return { name, cost: estimateCheckCost(options, gradientCostOf(classifier)) };
  });
}
