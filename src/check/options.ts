/**
 * The check's options, composed from the probe registry: the request/manifest schema, the resolved
 * (effective) options type, and how layers resolve over the server defaults. Each probe declares
 * its own part once (src/check/probes/).
 */
import { z } from "zod";
import { RequestError } from "../errors.ts";
import type { CheckLimits } from "./limits.ts";
import {
  type AnyProbe,
  type ModelFacts,
  ProbeLimitError,
  type ProfileName,
  PROFILES,
  type SettingsOf,
} from "./probe.ts";
import { PROBES, type Probes } from "./probes/index.ts";

export { type CheckLimits, DEFAULT_CHECK_LIMITS } from "./limits.ts";
export { PROFILES } from "./probe.ts";
export type { ModelFacts, ProfileName } from "./probe.ts";
export { type Squeezer, SqueezerSchema } from "./squeeze.ts";

const int = (min: number) => z.number().int().min(min);

type LayerShape<P extends readonly AnyProbe[]> = { [K in P[number] as K["key"]]: z.ZodOptional<K["layer"]> };
type SettingsShape<P extends readonly AnyProbe[]> = { [K in P[number] as K["key"]]: SettingsOf<K> | false };

function layerShape<P extends readonly AnyProbe[]>(probes: P): LayerShape<P> {
  return Object.fromEntries(probes.map((p) => [p.key, p.layer.optional()])) as LayerShape<P>;
}

/**
 * The public options contract of `POST /v1/models/{id}/check`. Every probe key may be `false`
 * (off); an absent key takes the default (manifest `defaults.check`, then the profile's). `profile`
 * picks the layer of defaults under both (the request's, else the manifest's, else `standard`).
 */
export const CheckOptionsSchema = z.object({
  profile: z.enum(PROFILES).optional(),
  label: int(0).nullable().optional(),
  target: int(0).nullable().optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  topK: int(1).max(1000).optional(),
  ...layerShape(PROBES),
  return: z.array(z.enum(["adversarial", "perturbation", "original"])).optional(),
}).strict();

export type CheckOptionsInput = z.infer<typeof CheckOptionsSchema>;

/** Every option resolved: request, then manifest `defaults.check`, then the server's defaults. */
export type EffectiveOptions =
  & { label: number | null; target: number | null; seed: number; topK: number }
  & SettingsShape<Probes>
  & { return: ("adversarial" | "perturbation" | "original")[] };

/** Parses request options (422 on anything malformed, naming the field). */
export function parseCheckOptions(raw: unknown): CheckOptionsInput {
  const parsed = CheckOptionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RequestError(422, "invalid_options", `options.${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

type Settings = Record<string, unknown>;

/** The server's defaults for a model: each probe's own (lighter for SPSA models, see the probes). */
export function serverDefaults(model: ModelFacts): EffectiveOptions {
  return profileDefaults(model, "standard");
}

/** A profile's defaults for a model: what each probe says the profile means for it. */
export function profileDefaults(model: ModelFacts, profile: ProfileName): EffectiveOptions {
  const out: Settings = { label: null, target: null, seed: 0, topK: 5 };
  for (const p of PROBES as readonly AnyProbe[]) {
    out[p.key] = profile === "standard" ? p.serverDefault(model) : p.profiles[profile](model);
  }
  out.return = [];
  return out as EffectiveOptions;
}

/** The profile the layers pick: the last that names one, else `standard`. */
export function chosenProfile(layers: readonly CheckOptionsInput[]): ProfileName {
  return layers.findLast((l) => l.profile !== undefined)?.profile ?? "standard";
}

/**
 * Overlays option layers on the chosen profile's defaults: a probe set to `false` is off; an object
 * overrides what its probe's `overlay` says (a probe turned back on starts from its full defaults).
 */
export function resolveOptions(model: ModelFacts, ...layers: CheckOptionsInput[]): EffectiveOptions {
  let out = profileDefaults(model, chosenProfile(layers));
  for (const layer of layers) out = overlay(out, layer, model);
  return out;
}

function overlay(base: EffectiveOptions, o: CheckOptionsInput, model: ModelFacts): EffectiveOptions {
  const out: Settings = { ...base };
  const layer = o as Settings;
  if (o.label !== undefined) out.label = o.label;
  if (o.target !== undefined) out.target = o.target;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.topK !== undefined) out.topK = o.topK;
  if (o.return !== undefined) out.return = [...new Set(o.return)];
  for (const p of PROBES as readonly AnyProbe[]) {
    const given = layer[p.key];
    if (given === undefined) continue;
    if (given === false) {
      out[p.key] = false;
      continue;
    }
    const fallback = p.fallback(model);
    out[p.key] = p.overlay((base as Settings)[p.key] || fallback, given, fallback);
  }
  return out as EffectiveOptions;
}

/** Bounds that depend on the model and the server limits; each failure names its limit. */
export function checkLimits(options: EffectiveOptions, model: ModelFacts, limits: CheckLimits): void {
  const classes = model.manifest.labels.length;
  for (const key of ["label", "target"] as const) {
    const value = options[key];
    if (value !== null && value >= classes) {
      throw new RequestError(
        422,
        "invalid_options",
        `options.${key}: ${value} is not a class index (0..${classes - 1})`,
      );
    }
  }
  try {
    for (const p of PROBES as readonly AnyProbe[]) {
      const settings = (options as Settings)[p.key];
      if (settings !== false) p.limits(settings, model, limits);
    }
  } catch (error) {
    if (error instanceof ProbeLimitError) throw new RequestError(422, error.code, error.message);
    throw error;
  }
}

/** Forward-pass equivalents the options may spend at most: the clean row plus every probe's cost. */
export function estimateCheckCost(options: EffectiveOptions, gradientCost: number): number {
  let cost = 1;
  for (const p of PROBES as readonly AnyProbe[]) {
    const settings = (options as Settings)[p.key];
    if (settings !== false) cost += p.cost(settings, gradientCost);
  }
  return cost;
}
