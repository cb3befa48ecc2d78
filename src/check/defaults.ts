import { RequestError } from "../errors.ts";
import type { Manifest } from "../model/manifest.ts";
import { type CheckLimits, type CheckOptionsInput, CheckOptionsSchema, type Squeezer } from "./options.ts";

export interface PgdProbe {
  norm: "linf" | "l2";
  eps: number;
  alpha: number;
  steps: number;
  randomStart: boolean;
  restarts: number;
  loss: "ce" | "margin";
}

export interface EotSettings {
  steps: number;
  eps: number;
  alpha: number;
  samples: number;
}

/** What the defaults depend on. */
export interface ModelFacts {
  manifest: Manifest;
  gradientMode: "exact" | "spsa";
}

/** Every option resolved: request, then manifest `defaults.check`, then the server's defaults. */
export interface EffectiveOptions {
  label: number | null;
  target: number | null;
  seed: number;
  topK: number;
  squeeze: false | { squeezers: Squeezer[]; threshold: number | null };
  randomization: false | { draws: number; minSize: number; maxSize: number; canvas: number; eot: false | EotSettings };
  fgsm: false | { eps: number[] };
  pgd: false | PgdProbe[];
  minimalEpsilon: false | {
    low: number;
    high: number;
    bisectionSteps: number;
    steps: number;
    alphaFactor: number;
    randomStart: boolean;
  };
  return: ("adversarial" | "perturbation")[];
}

/**
 * The server's defaults for a model, scaled to its input: greyscale models get Xu et al.'s MNIST
 * squeezers (1-bit depth, 2×2 median) and an L∞ budget of 0.1; colour models get the CIFAR-10
 * squeezers (5-bit, 2×2 median, non-local means 13-3-2) and 8/255. Xie et al.'s 299 → [299, 331)
 * resize range with a 331 canvas is scaled to the input size. A model without exact gradients
 * (SPSA, each gradient costing hundreds of forward passes) gets lighter defaults: FGSM and one
 * 10-step L∞ PGD probe, no EoT and no minimal-ε search (ask for them explicitly).
 */
export function serverDefaults(model: ModelFacts): EffectiveOptions {
  const full = probeDefaults(model.manifest);
  if (model.gradientMode === "exact") return full;
  const randomization = full.randomization && { ...full.randomization, eot: false as const };
  const pgd = full.pgd && [{ ...full.pgd[0], steps: 10, alpha: 2.5 * full.pgd[0].eps / 10 }];
  return { ...full, randomization, pgd, minimalEpsilon: false };
}

/** Every probe's default settings, also used to fill in a probe a request turns back on. */
function probeDefaults(manifest: Manifest): EffectiveOptions {
  const { channels, height, width } = manifest.input;
  const grey = channels === 1;
  const budget = grey ? 0.1 : 8 / 255;
  const side = Math.min(height, width);
  const canvas = Math.max(side + 1, Math.round(side * 331 / 299));
  const squeezers: Squeezer[] = grey
    ? [{ kind: "bitDepth", bits: 1 }, { kind: "median", size: 2 }]
    : [{ kind: "bitDepth", bits: 5 }, { kind: "median", size: 2 }, {
      kind: "nonLocalMeans",
      search: 13,
      patch: 3,
      h: 2,
    }];
  return {
    label: null,
    target: null,
    seed: 0,
    topK: 5,
    squeeze: { squeezers, threshold: null },
    randomization: {
      draws: 20,
      minSize: side,
      maxSize: canvas,
      canvas,
      eot: { steps: 10, eps: budget, alpha: 2.5 * budget / 10, samples: 8 },
    },
    fgsm: { eps: grey ? [0.05, 0.1, 0.25] : [2 / 255, 4 / 255, 8 / 255] },
    pgd: [
      { norm: "linf", eps: budget, alpha: 2.5 * budget / 20, steps: 20, randomStart: false, restarts: 1, loss: "ce" },
      {
        norm: "l2",
        eps: grey ? 1.5 : 0.5,
        alpha: 2.5 * (grey ? 1.5 : 0.5) / 20,
        steps: 20,
        randomStart: false,
        restarts: 1,
        loss: "ce",
      },
    ],
    minimalEpsilon: {
      low: 0,
      high: grey ? 0.5 : 0.25,
      bisectionSteps: 8,
      steps: 10,
      alphaFactor: 0.25,
      randomStart: false,
    },
    return: [],
  };
}

/** Parses request options (422 on anything malformed, naming the field). */
export function parseCheckOptions(raw: unknown): CheckOptionsInput {
  const parsed = CheckOptionsSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RequestError(422, "invalid_options", `options.${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Overlays option layers on the defaults: a probe set to `false` is off; an object overrides the
 * fields it names; lists (squeezers, ε lists, PGD probes) replace the default list. PGD and EoT
 * step sizes default to Madry et al.'s 2.5·ε/steps.
 */
export function resolveOptions(model: ModelFacts, ...layers: CheckOptionsInput[]): EffectiveOptions {
  const defaults = probeDefaults(model.manifest);
  let out = serverDefaults(model);
  for (const layer of layers) out = overlay(out, layer, defaults);
  return out;
}

/** `defaults` fills in a probe that an earlier layer turned off and a later one turns back on. */
function overlay(base: EffectiveOptions, o: CheckOptionsInput, defaults: EffectiveOptions): EffectiveOptions {
  const out: EffectiveOptions = { ...base };
  if (o.label !== undefined) out.label = o.label;
  if (o.target !== undefined) out.target = o.target;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.topK !== undefined) out.topK = o.topK;
  if (o.return !== undefined) out.return = [...new Set(o.return)];
  if (o.squeeze !== undefined) {
    const prev = base.squeeze || defaults.squeeze as Exclude<EffectiveOptions["squeeze"], false>;
    out.squeeze = o.squeeze === false ? false : {
      squeezers: o.squeeze.squeezers ?? prev.squeezers,
      threshold: o.squeeze.threshold ?? prev.threshold,
    };
  }
  if (o.randomization !== undefined) {
    if (o.randomization === false) out.randomization = false;
    else {
      const prev = base.randomization || defaults.randomization as Exclude<EffectiveOptions["randomization"], false>;
      const r = o.randomization;
      let eot: EotSettings | false = prev.eot;
      if (r.eot === false) eot = false;
      else if (r.eot !== undefined) {
        const fallback = defaults.randomization as Exclude<EffectiveOptions["randomization"], false>;
        const prevEot = prev.eot || fallback.eot as EotSettings;
        const steps = r.eot.steps ?? prevEot.steps;
        const epsValue = r.eot.eps ?? prevEot.eps;
        eot = {
          steps,
          eps: epsValue,
          alpha: r.eot.alpha ?? 2.5 * epsValue / steps,
          samples: r.eot.samples ?? prevEot.samples,
        };
      }
      out.randomization = {
        draws: r.draws ?? prev.draws,
        minSize: r.minSize ?? prev.minSize,
        maxSize: r.maxSize ?? prev.maxSize,
        canvas: r.canvas ?? prev.canvas,
        eot,
      };
    }
  }
  if (o.fgsm !== undefined) out.fgsm = o.fgsm === false ? false : { eps: [...o.fgsm.eps] };
  if (o.pgd !== undefined) {
    out.pgd = o.pgd === false ? false : o.pgd.map((p) => ({ ...p, alpha: p.alpha ?? 2.5 * p.eps / p.steps }));
  }
  if (o.minimalEpsilon !== undefined) {
    const prev = base.minimalEpsilon || defaults.minimalEpsilon as Exclude<EffectiveOptions["minimalEpsilon"], false>;
    out.minimalEpsilon = o.minimalEpsilon === false ? false : {
      low: o.minimalEpsilon.low ?? prev.low,
      high: o.minimalEpsilon.high ?? prev.high,
      bisectionSteps: o.minimalEpsilon.bisectionSteps ?? prev.bisectionSteps,
      steps: o.minimalEpsilon.steps ?? prev.steps,
      alphaFactor: o.minimalEpsilon.alphaFactor ?? prev.alphaFactor,
      randomStart: o.minimalEpsilon.randomStart ?? prev.randomStart,
    };
  }
  return out;
}

/** Bounds that depend on the model and the server limits; each failure names its limit. */
export function checkLimits(options: EffectiveOptions, manifest: Manifest, limits: CheckLimits): void {
  const fail = (limit: string, message: string) => {
    throw new RequestError(422, "limit_exceeded", `${limit}: ${message}`);
  };
  const classes = manifest.labels.length;
  const { channels, height, width } = manifest.input;
  if (options.label !== null && options.label >= classes) {
    throw new RequestError(
      422,
      "invalid_options",
      `options.label: ${options.label} is not a class index (0..${classes - 1})`,
    );
  }
  if (options.target !== null && options.target >= classes) {
    throw new RequestError(
      422,
      "invalid_options",
      `options.target: ${options.target} is not a class index (0..${classes - 1})`,
    );
  }
  if (options.squeeze && options.squeeze.squeezers.length > limits.maxSqueezers) {
    fail("maxSqueezers", `at most ${limits.maxSqueezers} squeezers`);
  }
  if (options.fgsm && options.fgsm.eps.length > limits.maxEpsList) {
    fail("maxEpsList", `at most ${limits.maxEpsList} FGSM ε values`);
  }
  if (options.pgd) {
    if (options.pgd.length > limits.maxPgdProbes) fail("maxPgdProbes", `at most ${limits.maxPgdProbes} PGD probes`);
    const l2Max = Math.sqrt(channels * height * width);
    for (const p of options.pgd) {
      if (p.steps > limits.maxSteps) fail("maxSteps", `PGD steps ${p.steps} > ${limits.maxSteps}`);
      if (p.restarts > limits.maxRestarts) fail("maxRestarts", `PGD restarts ${p.restarts} > ${limits.maxRestarts}`);
      if (p.norm === "linf" && p.eps > 1) fail("maxEps", `L∞ ε ${p.eps} > 1`);
      if (p.norm === "l2" && p.eps > l2Max) fail("maxEps", `L2 ε ${p.eps} > √(C·H·W) = ${l2Max.toFixed(3)}`);
    }
  }
  if (options.randomization) {
    const r = options.randomization;
    if (r.draws > limits.maxDraws) fail("maxDraws", `randomization draws ${r.draws} > ${limits.maxDraws}`);
    if (!(r.minSize < r.maxSize && r.maxSize <= r.canvas + 1)) {
      throw new RequestError(
        422,
        "invalid_options",
        "options.randomization: need minSize < maxSize ≤ canvas + 1 (sizes are drawn from [minSize, maxSize))",
      );
    }
    const maxCanvas = 8 * Math.max(height, width);
    if (r.canvas > maxCanvas) fail("maxCanvas", `canvas ${r.canvas} > 8 × the input size (${maxCanvas})`);
    if (r.eot) {
      if (r.eot.steps > limits.maxSteps) fail("maxSteps", `EoT steps ${r.eot.steps} > ${limits.maxSteps}`);
      if (r.eot.samples > limits.maxDraws) fail("maxDraws", `EoT samples ${r.eot.samples} > ${limits.maxDraws}`);
    }
  }
  if (options.minimalEpsilon) {
    const m = options.minimalEpsilon;
    if (m.bisectionSteps > limits.maxBisectionSteps) {
      fail("maxBisectionSteps", `bisectionSteps ${m.bisectionSteps} > ${limits.maxBisectionSteps}`);
    }
    if (m.steps > limits.maxSteps) fail("maxSteps", `minimalEpsilon steps ${m.steps} > ${limits.maxSteps}`);
    if (!(m.low < m.high)) throw new RequestError(422, "invalid_options", "options.minimalEpsilon: need low < high");
  }
}
