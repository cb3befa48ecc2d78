import { z as zo } from "@hono/zod-openapi";
import { z } from "zod";
import { eotPgd, estimateEotPgdCost } from "../../attacks/eot_pgd.ts";
import { argmax, softmax } from "../../../kernels/softmax.ts";
import { pngBase64 } from "../images.ts";
import {
  describeAttack,
  exceeded,
  isLargeInput,
  linfBudget,
  type Probe,
  type ProbeContext,
  ProbeLimitError,
  STAGE,
  stageSeed,
} from "../probe.ts";
import { resizePadDraws, votesFromLogits } from "../randomization.ts";
import { derivedStep } from "../step_size.ts";
import { AttackReportSchema } from "./attack_schema.ts";

export interface EotSettings {
  steps: number;
  eps: number;
  alpha: number;
  samples: number;
}

export interface RandomizationSettings {
  draws: number;
  minSize: number;
  maxSize: number;
  canvas: number;
  eot: false | EotSettings;
  /** `["randomized"]`: the report carries the first RETURNED_DRAWS draws with their predictions. */
  return?: "randomized"[];
}

/**
 * Draws of the `screen` profile on large inputs: the smallest vote with a strict majority. The
 * verdict's agreement < 0.5 then means at most one of three draws keeps the prediction: a draw
 * that keeps it with probability p (a clean image: p ≈ 0.95) is flagged with probability
 * (1−p)³ + 3p(1−p)² ≈ 0.007; an input whose draws keep it with p = 0.2 with 0.90 (Xie et al.'s
 * randomization restores the true class of most adversarial examples made without it).
 */
export const SCREEN_LARGE_DRAWS = 3;

/** How many draws `return: ["randomized"]` shows (the report stays small at 224×224). */
export const RETURNED_DRAWS = 6;

const int = (min: number) => z.number().int().min(min);

const RandomizationLayer = z.union([
  z.literal(false),
  z.object({
    draws: int(1).optional(),
    minSize: int(1).optional(),
    maxSize: int(2).optional(),
    canvas: int(1).optional(),
    eot: z.union([
      z.literal(false),
      z.object({
        steps: int(1).default(10),
        eps: z.number().min(0).max(1).optional(),
        alpha: z.number().positive().optional(),
        samples: int(1).default(8),
      }).strict(),
    ]).optional(),
    return: z.array(z.literal("randomized")).optional(),
  }).strict(),
]);

const ClassVotes = zo.object({ index: zo.number().int(), label: zo.string(), count: zo.number().int() });
const DrawImage = zo.object({
  image: zo.string().openapi({ description: "The resized and padded image, base64 PNG at model size" }),
  index: zo.number().int(),
  label: zo.string(),
  confidence: zo.number(),
});
const RandomizationSection = zo.object({
  draws: zo.number().int(),
  agreement: zo.number(),
  votes: zo.array(ClassVotes),
  // A union, not `.nullable()`: zod-to-openapi documents an extended schema's nullable as allOf [Probe, …],
  // which rejects null.
  eot: zo.union([
    AttackReportSchema.extend({
      samples: zo.number().int(),
      fooledFraction: zo.number(),
      evalDraws: zo.number().int(),
    }),
    zo.null(),
  ]),
  images: zo.array(DrawImage).optional().openapi({
    description: 'The first draws (at most 6) with their predictions (only with `return: ["randomized"]`)',
  }),
});
export type RandomizationSection = z.infer<typeof RandomizationSection>;

/**
 * Xie et al.'s randomized resizing + padding, 299 → [299, 331) with a 331 canvas scaled to the input
 * size: `draws` transforms in the screening pass vote; EoT-PGD (Athalye et al.) attacks through the
 * transform distribution. Models without exact gradients get no EoT by default (it costs
 * `steps·samples` SPSA gradients).
 */
export const randomizationProbe: Probe<
  "randomization",
  typeof RandomizationLayer,
  RandomizationSettings,
  RandomizationSection
> = {
  key: "randomization",
  report: "section",
  layer: RandomizationLayer,
  section: RandomizationSection,
  serverDefault(model) {
    const full = randomizationProbe.fallback(model);
    return model.gradientMode === "spsa" ? { ...full, eot: false } : full;
  },
  profiles: {
    // The votes only: EoT-PGD is an attack, and the screening profile's only attack is FGSM. Large
    // inputs: SCREEN_LARGE_DRAWS draws (each one is a forward row of the model).
    screen: (model) => ({
      ...randomizationProbe.fallback(model),
      ...(isLargeInput(model) ? { draws: SCREEN_LARGE_DRAWS } : {}),
      eot: false,
    }),
    // 40 draws; EoT-PGD with 20 steps of 16 samples (SPSA models: still no EoT).
    thorough(model) {
      const full = randomizationProbe.fallback(model);
      const eot = full.eot as EotSettings;
      return {
        ...full,
        draws: 40,
        eot: model.gradientMode === "spsa"
          ? false
          : { ...eot, steps: 20, alpha: derivedStep(eot.eps, 20), samples: 16 },
      };
    },
  },
  fallback(model) {
    const { height, width } = model.manifest.input;
    const budget = linfBudget(model);
    const side = Math.min(height, width);
    const canvas = Math.max(side + 1, Math.round(side * 331 / 299));
    return {
      draws: 20,
      minSize: side,
      maxSize: canvas,
      canvas,
      eot: { steps: 10, eps: budget, alpha: derivedStep(budget, 10), samples: 8 },
    };
  },
  overlay(previous, layer, fallback) {
    let eot = previous.eot;
    if (layer.eot === false) eot = false;
    else if (layer.eot !== undefined) {
      const prevEot = previous.eot || fallback.eot as EotSettings;
      const steps = layer.eot.steps ?? prevEot.steps;
      const eps = layer.eot.eps ?? prevEot.eps;
      eot = {
        steps,
        eps,
        alpha: layer.eot.alpha ?? derivedStep(eps, steps),
        samples: layer.eot.samples ?? prevEot.samples,
      };
    }
    const returned = layer.return ?? previous.return;
    return {
      draws: layer.draws ?? previous.draws,
      minSize: layer.minSize ?? previous.minSize,
      maxSize: layer.maxSize ?? previous.maxSize,
      canvas: layer.canvas ?? previous.canvas,
      eot,
      ...(returned?.length ? { return: [...new Set(returned)] } : {}),
    };
  },
  limits(r, { manifest }, limits) {
    if (r.draws > limits.maxDraws) exceeded("maxDraws", `randomization draws ${r.draws} > ${limits.maxDraws}`);
    if (!(r.minSize < r.maxSize && r.maxSize <= r.canvas + 1)) {
      throw new ProbeLimitError(
        "invalid_options",
        "options.randomization: need minSize < maxSize ≤ canvas + 1 (sizes are drawn from [minSize, maxSize))",
      );
    }
    const maxCanvas = 8 * Math.max(manifest.input.height, manifest.input.width);
    if (r.canvas > maxCanvas) exceeded("maxCanvas", `canvas ${r.canvas} > 8 × the input size (${maxCanvas})`);
    if (r.eot) {
      if (r.eot.steps > limits.maxSteps) exceeded("maxSteps", `EoT steps ${r.eot.steps} > ${limits.maxSteps}`);
      if (r.eot.samples > limits.maxDraws) exceeded("maxDraws", `EoT samples ${r.eot.samples} > ${limits.maxDraws}`);
    }
  },
  cost(r, gradientCost) {
    const eot = r.eot
      ? estimateEotPgdCost({ images: 1, steps: r.eot.steps, samples: r.eot.samples, evalDraws: r.draws, gradientCost })
      : 0;
    return r.draws + eot;
  },
  screening: (r, input, timed) =>
    timed(
      "randomizationMs",
      () => resizePadDraws(input.pixels, input.shape, { ...r, seed: stageSeed(input.seed, STAGE.randomization) }),
    ),
  async run(r, context) {
    const names = context.classifier.manifest.labels;
    const votes = votesFromLogits(context.screeningLogits, r.draws, names.length, context.predicted);
    let eot: RandomizationSection["eot"] = null;
    if (r.eot) {
      const e = r.eot;
      const [result] = await context.timed("eotMs", () =>
        eotPgd(context.classifier, context.pixels, {
          norm: "linf",
          eps: e.eps,
          alpha: e.alpha,
          steps: e.steps,
          randomStart: false,
          loss: "ce",
          seed: stageSeed(context.seed, STAGE.eot),
          labels: [context.label],
          targets: context.targets,
          samples: e.samples,
          evalDraws: r.draws,
          transform: { minSize: r.minSize, maxSize: r.maxSize, canvas: r.canvas },
          signal: context.signal,
        }));
      eot = {
        ...describeAttack(result, false, names),
        samples: result.samples,
        fooledFraction: result.randomization.fooledFraction,
        evalDraws: result.randomization.draws,
      };
    }
    const section = {
      draws: votes.draws,
      agreement: votes.agreement,
      votes: Object.entries(votes.votes)
        .map(([index, count]) => ({ index: Number(index), label: names[Number(index)], count }))
        .sort((a, b) => b.count - a.count || a.index - b.index),
      eot,
      ...(r.return?.includes("randomized") ? { images: drawImages(r, context, names) } : {}),
    };
    return { section, candidates: [] };
  },
  verdict: (section) => ({
    reasons: section.agreement < 0.5
      ? [`only ${(100 * section.agreement).toFixed(0)}% of randomized resizes agree with the prediction`]
      : [],
    suspicious: section.agreement < 0.5,
  }),
};

/** The first draws again (same seed stream, so the same transforms) with their screening predictions. */
function drawImages(r: RandomizationSettings, context: ProbeContext, names: readonly string[]) {
  const count = Math.min(r.draws, RETURNED_DRAWS);
  const seed = stageSeed(context.seed, STAGE.randomization);
  const rows = resizePadDraws(context.pixels, context.shape, { ...r, draws: count, seed });
  const classes = names.length;
  const size = context.pixels.length;
  return Array.from({ length: count }, (_, d) => {
    const z = context.screeningLogits.subarray(d * classes, (d + 1) * classes);
    const index = argmax(z, { rows: 1, cols: classes })[0];
    return {
      image: pngBase64(rows.subarray(d * size, (d + 1) * size), context.shape),
      index,
      label: names[index],
      confidence: softmax(z, { rows: 1, cols: classes })[index],
    };
  });
}
