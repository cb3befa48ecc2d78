import { eotPgd, estimateEotPgdCost } from "../attacks/eot_pgd.ts";
import { estimateFgsmCost, fgsm } from "../attacks/fgsm.ts";
import { estimateMinimalEpsilonCost, minimalEpsilon } from "../attacks/minimal_epsilon.ts";
import { estimatePgdCost, pgd } from "../attacks/pgd.ts";
import type { AttackResult } from "../attacks/result.ts";
import { type Prediction, rankPrediction } from "../predict/predict.ts";
import type { Classifier } from "../model/classifier.ts";
import { gradientCostOf } from "../model/gradient_cost.ts";
import type { EffectiveOptions } from "./defaults.ts";
import { amplifiedPerturbation, pngBase64 } from "./images.ts";
import { resizePadDraws, votesFromLogits } from "./randomization.ts";
import { combineScore, fragilityPart, type ScoreParts, squeezePart } from "./score.ts";
import { scoresFromLogits, squeezedBatch } from "./squeeze.ts";

export type ThresholdSource = "request" | "calibration" | "manifest" | "none";

export interface ProbeReport {
  attack: AttackResult["attack"];
  norm: AttackResult["norm"];
  eps: number;
  steps: number;
  alpha: number;
  restarts: number;
  randomStart: boolean;
  targeted: boolean;
  target: number | null;
  loss: AttackResult["loss"];
  success: boolean;
  iterations: number;
  adversarial: { index: number; label: string; confidence: number };
  perturbation: { linf: number; l2: number };
  gradient: AttackResult["gradient"];
}

export interface CheckReport {
  model: { id: string; sha256: string };
  backend: string;
  prediction: Prediction;
  label: { index: number; label: string; source: "request" | "prediction" };
  target: { index: number; label: string } | null;
  squeeze: null | {
    scores: Record<string, number>;
    joint: number;
    threshold: number | null;
    thresholdSource: ThresholdSource;
    flagged: boolean;
  };
  randomization: null | {
    draws: number;
    agreement: number;
    votes: { index: number; label: string; count: number }[];
    eot: null | (ProbeReport & { samples: number; fooledFraction: number; evalDraws: number });
  };
  probes: ProbeReport[];
  minimalEpsilon: null | {
    linf: number | null;
    broken: boolean;
    method: "bisection-pgd-linf";
    bounds: [number, number | null];
    gradient: Classifier["gradientMode"];
  };
  score: number;
  scoreParts: ScoreParts;
  verdict: { suspectedAdversarial: boolean; fragile: boolean; reasons: string[] };
  images?: { source: string; adversarial?: string; perturbation?: string };
  cost: { estimated: number; budget: number };
  timings: Record<string, number>;
  seed: number;
  options: EffectiveOptions;
}

/** Seeds of the stages, derived from the request seed so that each stage has its own stream. */
export function stageSeed(seed: number, stage: number): number {
  return (seed + Math.imul(stage, 0x9e3779b9)) >>> 0;
}

const STAGE = { randomization: 1, eot: 2, minimalEpsilon: 3, pgd: 16 } as const;

/** Forward-pass equivalents the options may spend at most. */
export function estimateCheckCost(options: EffectiveOptions, gradientCost: number): number {
  let cost = 1;
  if (options.squeeze) cost += options.squeeze.squeezers.length;
  if (options.randomization) {
    cost += options.randomization.draws;
    const eot = options.randomization.eot;
    if (eot) {
      cost += estimateEotPgdCost({
        images: 1,
        steps: eot.steps,
        samples: eot.samples,
        evalDraws: options.randomization.draws,
        gradientCost,
      });
    }
  }
  if (options.fgsm) cost += estimateFgsmCost({ images: 1, epsCount: options.fgsm.eps.length, gradientCost });
  for (const p of options.pgd || []) {
    cost += estimatePgdCost({ images: 1, steps: p.steps, restarts: p.restarts, gradientCost });
  }
  if (options.minimalEpsilon) {
    const m = options.minimalEpsilon;
    cost += estimateMinimalEpsilonCost({ images: 1, bisectionSteps: m.bisectionSteps, steps: m.steps, gradientCost });
  }
  return cost;
}

export interface RunCheckInput {
  classifier: Classifier;
  /** One image, CHW in [0,1] at the model's input size. */
  pixels: Float32Array;
  options: EffectiveOptions;
  threshold: { value: number | null; source: ThresholdSource };
  budget: number;
}

/** The per-image check: prediction, squeezing, randomization (+EoT), FGSM, PGD, minimal ε, verdict. */
export async function runCheck(input: RunCheckInput): Promise<CheckReport> {
  const { classifier, pixels, options } = input;
  const { labels: names } = classifier.manifest;
  const { channels, height, width } = classifier.manifest.input;
  const shape = { channels, height, width };
  const timings: Record<string, number> = {};
  const timed = async <T>(stage: string, work: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = performance.now() - start;
    }
  };
  const started = performance.now();

  // The clean image, its squeezed versions and the randomization draws: one batched forward pass.
  const squeezers = options.squeeze ? options.squeeze.squeezers : [];
  const squeezed = await timed("squeezeMs", () => squeezedBatch(pixels, shape, squeezers));
  const r = options.randomization;
  const drawn = r
    ? await timed(
      "randomizationMs",
      () => resizePadDraws(pixels, shape, { ...r, seed: stageSeed(options.seed, STAGE.randomization) }),
    )
    : new Float32Array();
  const screening = new Float32Array(pixels.length + squeezed.length + drawn.length);
  screening.set(pixels);
  screening.set(squeezed, pixels.length);
  screening.set(drawn, pixels.length + squeezed.length);
  const rows = 1 + squeezers.length + (r ? r.draws : 0);
  const classes = names.length;
  const screeningLogits = await timed("screeningForwardMs", () => classifier.logits(screening, rows));
  const cleanLogits = screeningLogits.subarray(0, classes);
  const squeezedLogits = screeningLogits.subarray(classes, (1 + squeezers.length) * classes);
  const drawLogits = screeningLogits.subarray((1 + squeezers.length) * classes);
  const prediction = rankPrediction(cleanLogits, names, options.topK);
  const label = options.label ?? prediction.index;
  const target = options.target;
  const targets = target === null ? undefined : [target];
  const describe = (r: AttackResult, randomStart: boolean): ProbeReport => ({
    attack: r.attack,
    norm: r.norm,
    eps: r.eps,
    steps: r.steps,
    alpha: r.alpha,
    restarts: r.restarts,
    randomStart,
    targeted: r.targeted,
    target: r.target,
    loss: r.loss,
    success: r.success,
    iterations: r.iterations,
    adversarial: {
      index: r.adversarial.index,
      label: names[r.adversarial.index],
      confidence: r.adversarial.confidence,
    },
    perturbation: r.perturbation,
    gradient: r.gradient,
  });

  let squeeze: CheckReport["squeeze"] = null;
  if (options.squeeze) {
    const scores = scoresFromLogits(cleanLogits, squeezedLogits, squeezers);
    const threshold = input.threshold.value;
    squeeze = {
      ...scores,
      threshold,
      thresholdSource: input.threshold.source,
      flagged: threshold !== null && scores.joint > threshold,
    };
  }

  let randomization: CheckReport["randomization"] = null;
  if (r) {
    const votes = votesFromLogits(drawLogits, r.draws, classes, prediction.index);
    let eot: NonNullable<CheckReport["randomization"]>["eot"] = null;
    if (r.eot) {
      const e = r.eot;
      const [result] = await timed("eotMs", () =>
        eotPgd(classifier, pixels, {
          norm: "linf",
          eps: e.eps,
          alpha: e.alpha,
          steps: e.steps,
          randomStart: false,
          loss: "ce",
          seed: stageSeed(options.seed, STAGE.eot),
          labels: [label],
          targets,
          samples: e.samples,
          evalDraws: r.draws,
          transform: { minSize: r.minSize, maxSize: r.maxSize, canvas: r.canvas },
        }));
      eot = {
        ...describe(result, false),
        samples: result.samples,
        fooledFraction: result.randomization.fooledFraction,
        evalDraws: result.randomization.draws,
      };
    }
    randomization = {
      draws: votes.draws,
      agreement: votes.agreement,
      votes: Object.entries(votes.votes)
        .map(([index, count]) => ({ index: Number(index), label: names[Number(index)], count }))
        .sort((a, b) => b.count - a.count || a.index - b.index),
      eot,
    };
  }

  const probes: ProbeReport[] = [];
  const adversarials: { source: string; pixels: Float32Array; linf: number }[] = [];
  if (options.fgsm) {
    const eps = options.fgsm.eps;
    const [results] = await timed("fgsmMs", () => fgsm(classifier, pixels, { labels: [label], eps, targets }));
    for (const r of results) {
      probes.push(describe(r, false));
      if (r.success) {
        adversarials.push({ source: `fgsm ε=${r.eps}`, pixels: r.adversarialPixels, linf: r.perturbation.linf });
      }
    }
  }
  if (options.pgd) {
    const pgdProbes = options.pgd;
    await timed("pgdMs", async () => {
      for (const [i, p] of pgdProbes.entries()) {
        const [r] = await pgd(classifier, pixels, {
          ...p,
          seed: stageSeed(options.seed, STAGE.pgd + i),
          labels: [label],
          targets,
        });
        probes.push(describe(r, p.randomStart));
        if (r.success) {
          adversarials.push({
            source: `pgd ${p.norm} ε=${p.eps}`,
            pixels: r.adversarialPixels,
            linf: r.perturbation.linf,
          });
        }
      }
    });
  }

  let minimal: CheckReport["minimalEpsilon"] = null;
  if (options.minimalEpsilon) {
    const m = options.minimalEpsilon;
    const [result] = await timed(
      "minimalEpsilonMs",
      () =>
        minimalEpsilon(classifier, pixels, {
          ...m,
          labels: [label],
          seed: stageSeed(options.seed, STAGE.minimalEpsilon),
        }),
    );
    minimal = {
      linf: result.epsilon,
      broken: result.broken,
      method: "bisection-pgd-linf",
      bounds: result.bounds,
      gradient: classifier.gradientMode,
    };
  }

  const scoreParts: ScoreParts = {
    fragility: fragilityPart(
      minimal && options.minimalEpsilon
        ? { ...minimal, epsilon: minimal.linf, high: options.minimalEpsilon.high }
        : null,
      probes.map((p) => p.success),
    ),
    squeeze: squeezePart(squeeze?.joint ?? null, squeeze?.threshold ?? null),
    instability: randomization ? 1 - randomization.agreement : 0,
  };
  const reasons: string[] = [];
  if (options.label !== null && prediction.index !== label) {
    reasons.push(`the clean prediction "${prediction.label}" already differs from the label "${names[label]}"`);
  }
  if (squeeze?.flagged) {
    reasons.push(`feature-squeezing score ${squeeze.joint.toFixed(4)} exceeds the threshold ${squeeze.threshold}`);
  }
  if (randomization && randomization.agreement < 0.5) {
    reasons.push(`only ${(100 * randomization.agreement).toFixed(0)}% of randomized resizes agree with the prediction`);
  }
  for (const p of probes) {
    if (p.success) {
      reasons.push(
        `${p.attack} ${p.norm} ε=${p.eps} changed the prediction to "${p.adversarial.label}" (iteration ${p.iterations})`,
      );
    }
  }
  if (minimal?.broken) reasons.push(`the smallest L∞ ε found to flip the prediction is ≤ ${minimal.linf}`);
  const fragile = probes.some((p) => p.success);
  const suspectedAdversarial = Boolean(squeeze?.flagged) || (randomization !== null && randomization.agreement < 0.5);

  let images: CheckReport["images"];
  if (options.return.length > 0) {
    const best = adversarials.sort((a, b) => a.linf - b.linf)[0];
    images = { source: best ? best.source : "none: no probe succeeded" };
    if (best && options.return.includes("adversarial")) images.adversarial = pngBase64(best.pixels, shape);
    if (best && options.return.includes("perturbation")) {
      images.perturbation = pngBase64(amplifiedPerturbation(best.pixels, pixels), shape);
    }
  }

  timings.totalMs = performance.now() - started;
  return {
    model: { id: classifier.manifest.id, sha256: classifier.sha256 },
    backend: classifier.backend,
    prediction,
    label: { index: label, label: names[label], source: options.label === null ? "prediction" : "request" },
    target: target === null ? null : { index: target, label: names[target] },
    squeeze,
    randomization,
    probes,
    minimalEpsilon: minimal,
    score: combineScore(scoreParts),
    scoreParts,
    verdict: { suspectedAdversarial, fragile, reasons },
    ...(images ? { images } : {}),
    cost: { estimated: estimateCheckCost(options, gradientCostOf(classifier)), budget: input.budget },
    timings,
    seed: options.seed,
    options,
  };
}
