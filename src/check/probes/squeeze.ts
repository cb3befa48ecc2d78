import { z as zo } from "@hono/zod-openapi";
import { z } from "zod";
import { pngBase64 } from "../images.ts";
import { exceeded, isLargeInput, type Probe, type ProbeContext, type SqueezeThreshold } from "../probe.ts";
import { scoresFromLogits, squeezedBatch, type Squeezer, squeezerName, SqueezerSchema } from "../squeeze.ts";

export interface SqueezeSettings {
  squeezers: Squeezer[];
  /** A threshold set by a layer (manifest `defaults.check` or the request), else null. */
  threshold: number | null;
  /** `["squeezed"]`: the report carries each squeezed image (absent = none, the default). */
  return?: "squeezed"[];
}

const SqueezeLayer = z.union([
  z.literal(false),
  z.object({
    squeezers: z.array(SqueezerSchema).min(1).optional(),
    threshold: z.number().nonnegative().optional(),
    return: z.array(z.literal("squeezed")).optional(),
  }).strict(),
]);

const SqueezeSection = zo.object({
  scores: zo.record(zo.string(), zo.number()),
  joint: zo.number(),
  threshold: zo.number().nullable(),
  thresholdSource: zo.enum(["request", "calibration", "manifest", "none"]),
  flagged: zo.boolean(),
  images: zo.record(zo.string(), zo.string()).optional().openapi({
    description: 'Squeezer name → the squeezed image as a base64 PNG at model size (only with `return: ["squeezed"]`)',
  }),
});
export type SqueezeSection = z.infer<typeof SqueezeSection>;

/**
 * Feature squeezing (Xu et al., NDSS 2018): greyscale models get the MNIST squeezers (1-bit depth,
 * 2×2 median), colour models the CIFAR-10 ones (5-bit, 2×2 median, non-local means 13-3-2).
 */
export const squeezeProbe: Probe<"squeeze", typeof SqueezeLayer, SqueezeSettings, SqueezeSection> = {
  key: "squeeze",
  report: "section",
  layer: SqueezeLayer,
  section: SqueezeSection,
  serverDefault: (model) => squeezeProbe.fallback(model),
  profiles: {
    // Large inputs: the bit-depth and median squeezers only. Non-local means is the costliest kernel
    // (~50 ms at 224²) and one more forward row; a threshold calibrated for the full set still
    // applies to this subset (squeezeThreshold).
    screen(model) {
      const full = squeezeProbe.fallback(model);
      return isLargeInput(model)
        ? { ...full, squeezers: full.squeezers.filter((s) => s.kind !== "nonLocalMeans") }
        : full;
    },
    thorough: (model) => squeezeProbe.fallback(model),
  },
  fallback({ manifest }) {
    const squeezers: Squeezer[] = manifest.input.channels === 1
      ? [{ kind: "bitDepth", bits: 1 }, { kind: "median", size: 2 }]
      : [{ kind: "bitDepth", bits: 5 }, { kind: "median", size: 2 }, {
        kind: "nonLocalMeans",
        search: 13,
        patch: 3,
        h: 2,
      }];
    return { squeezers, threshold: null };
  },
  overlay(previous, layer) {
    const returned = layer.return ?? previous.return;
    return {
      squeezers: layer.squeezers ?? previous.squeezers,
      threshold: layer.threshold ?? previous.threshold,
      ...(returned?.length ? { return: [...new Set(returned)] } : {}),
    };
  },
  limits(settings, _model, limits) {
    if (settings.squeezers.length > limits.maxSqueezers) {
      exceeded("maxSqueezers", `at most ${limits.maxSqueezers} squeezers`);
    }
  },
  cost: (settings) => settings.squeezers.length,
  screening: (settings, input, timed) =>
    timed("squeezeMs", () => squeezedBatch(input.pixels, input.shape, settings.squeezers)),
  run(settings, context) {
    const scores = scoresFromLogits(context.cleanLogits, context.screeningLogits, settings.squeezers);
    const { value: threshold, source } = context.squeezeThreshold;
    const section = {
      ...scores,
      threshold,
      thresholdSource: source,
      flagged: threshold !== null && scores.joint > threshold,
      ...(settings.return?.includes("squeezed") ? { images: squeezedImages(settings.squeezers, context) } : {}),
    };
    return Promise.resolve({ section, candidates: [] });
  },
  verdict: (section) => ({
    reasons: section.flagged
      ? [`feature-squeezing score ${section.joint.toFixed(4)} exceeds the threshold ${section.threshold}`]
      : [],
    suspicious: section.flagged,
  }),
};

/** The squeezed images again (the screening rows are not kept): cheap next to the attacks. */
function squeezedImages(squeezers: Squeezer[], context: ProbeContext): Record<string, string> {
  const rows = squeezedBatch(context.pixels, context.shape, squeezers);
  const size = context.pixels.length;
  return Object.fromEntries(
    squeezers.map((s, i) => [squeezerName(s), pngBase64(rows.subarray(i * size, (i + 1) * size), context.shape)]),
  );
}

export interface ThresholdInput {
  /** The squeezers the score is computed with. */
  settings: SqueezeSettings;
  /** What the request said about squeezing (nothing for GET /v1/models/{id}). */
  request?: { threshold?: number };
  calibration: { threshold: number; squeezers: readonly string[] } | null;
  /** The manifest's `defaults.squeezeThreshold`. */
  manifestThreshold: number | undefined;
  /**
   * The set the manifest's thresholds were calibrated for: the model's standard squeezers (its
   * `defaults.check` squeezers, else the server's).
   */
  manifestSqueezers: readonly Squeezer[];
}

/**
 * Whether a threshold calibrated for `calibrated` holds for `squeezers`: they must be a subset of
 * it. The joint score is a maximum over the squeezers, so a subset's score never exceeds the full
 * set's on any image: its false-positive rate stays at most the calibrated one (its detection rate
 * may drop). A set with any other squeezer has a different score distribution: no threshold.
 */
export function thresholdHolds(squeezers: readonly string[], calibrated: readonly string[]): boolean {
  return squeezers.length > 0 && squeezers.every((name) => calibrated.includes(name));
}

/**
 * The one rule for the squeeze threshold, used by /check and GET /v1/models/{id}: the request's
 * threshold → a calibration whose squeezers include the ones run → the manifest's (its
 * `defaults.check` threshold, else `defaults.squeezeThreshold`) when the squeezers run are among
 * the model's standard ones → none. So a profile with fewer squeezers (`screen` on large inputs)
 * keeps a threshold, and one with other squeezers never borrows one.
 */
export function squeezeThreshold(input: ThresholdInput): SqueezeThreshold {
  const { settings, request, calibration } = input;
  if (request?.threshold !== undefined) return { value: request.threshold, source: "request" };
  const names = settings.squeezers.map(squeezerName);
  if (calibration && thresholdHolds(names, calibration.squeezers)) {
    return { value: calibration.threshold, source: "calibration" };
  }
  const manifestValue = settings.threshold ?? input.manifestThreshold;
  if (manifestValue !== undefined && thresholdHolds(names, input.manifestSqueezers.map(squeezerName))) {
    return { value: manifestValue, source: "manifest" };
  }
  return { value: null, source: "none" };
}
