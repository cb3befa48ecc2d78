import { z as zo } from "@hono/zod-openapi";
import { z } from "zod";
import { estimateMinimalEpsilonCost, minimalEpsilon } from "../../attacks/minimal_epsilon.ts";
import { exceeded, type Probe, ProbeLimitError, STAGE, stageSeed } from "../probe.ts";
import { derivedAlphaFactor } from "../step_size.ts";

export interface MinimalEpsilonSettings {
  low: number;
  high: number;
  bisectionSteps: number;
  steps: number;
  /** PGD step = alphaFactor · ε at each bisection point. */
  alphaFactor: number;
  randomStart: boolean;
}

const eps = z.number().min(0).max(1);
const int = (min: number) => z.number().int().min(min);

const MinimalEpsilonLayer = z.union([
  z.literal(false),
  z.object({
    low: eps.optional(),
    high: eps.optional(),
    bisectionSteps: int(1).optional(),
    steps: int(1).optional(),
    alphaFactor: z.number().positive().max(1).optional(),
    randomStart: z.boolean().optional(),
  }).strict(),
]);

const MinimalEpsilonSection = zo.object({
  linf: zo.number().nullable().openapi({
    description: "Upper bound on the L∞ robust radius; null when `high` did not break it",
  }),
  broken: zo.boolean(),
  method: zo.literal("bisection-pgd-linf"),
  bounds: zo.tuple([zo.number(), zo.number().nullable()]),
  gradient: zo.enum(["exact", "spsa"]),
});
export type MinimalEpsilonSection = z.infer<typeof MinimalEpsilonSection>;

/**
 * The smallest L∞ ε that flips the prediction, by bisection over PGD on [low, high]. Off by default
 * for models without exact gradients (each bisection step runs a whole SPSA PGD).
 */
export const minimalEpsilonProbe: Probe<
  "minimalEpsilon",
  typeof MinimalEpsilonLayer,
  MinimalEpsilonSettings,
  MinimalEpsilonSection
> = {
  key: "minimalEpsilon",
  report: "section",
  layer: MinimalEpsilonLayer,
  section: MinimalEpsilonSection,
  serverDefault: (model) => model.gradientMode === "spsa" ? false : minimalEpsilonProbe.fallback(model),
  profiles: {
    screen: () => false,
    // 12 bisection points (the bracket narrows 16× more than 8), 20 PGD steps from a random start.
    thorough: (model) =>
      model.gradientMode === "spsa" ? false : {
        ...minimalEpsilonProbe.fallback(model),
        bisectionSteps: 12,
        steps: 20,
        alphaFactor: derivedAlphaFactor(20),
        randomStart: true,
      },
  },
  fallback: ({ manifest }) => ({
    low: 0,
    high: manifest.input.channels === 1 ? 0.5 : 0.25,
    bisectionSteps: 8,
    steps: 10,
    alphaFactor: derivedAlphaFactor(10),
    randomStart: false,
  }),
  overlay(previous, layer) {
    const steps = layer.steps ?? previous.steps;
    return {
      low: layer.low ?? previous.low,
      high: layer.high ?? previous.high,
      bisectionSteps: layer.bisectionSteps ?? previous.bisectionSteps,
      steps,
      // A layer that sets the steps but not the factor gets the derived one (not the previous layer's).
      alphaFactor: layer.alphaFactor ?? (layer.steps !== undefined ? derivedAlphaFactor(steps) : previous.alphaFactor),
      randomStart: layer.randomStart ?? previous.randomStart,
    };
  },
  limits(m, _model, limits) {
    if (m.bisectionSteps > limits.maxBisectionSteps) {
      exceeded("maxBisectionSteps", `bisectionSteps ${m.bisectionSteps} > ${limits.maxBisectionSteps}`);
    }
    if (m.steps > limits.maxSteps) exceeded("maxSteps", `minimalEpsilon steps ${m.steps} > ${limits.maxSteps}`);
    if (!(m.low < m.high)) throw new ProbeLimitError("invalid_options", "options.minimalEpsilon: need low < high");
  },
  cost: (m, gradientCost) =>
    estimateMinimalEpsilonCost({ images: 1, bisectionSteps: m.bisectionSteps, steps: m.steps, gradientCost }),
  async run(m, context) {
    const [result] = await context.timed(
      "minimalEpsilonMs",
      () =>
        minimalEpsilon(context.classifier, context.pixels, {
          ...m,
          labels: [context.label],
          seed: stageSeed(context.seed, STAGE.minimalEpsilon),
          signal: context.signal,
        }),
    );
    const section = {
      linf: result.epsilon,
      broken: result.broken,
      method: "bisection-pgd-linf" as const,
      bounds: result.bounds,
      gradient: context.classifier.gradientMode,
    };
    return { section, candidates: [] };
  },
  verdict: (section) => ({
    reasons: section.broken ? [`the smallest L∞ ε found to flip the prediction is ≤ ${section.linf}`] : [],
    suspicious: false,
  }),
};
