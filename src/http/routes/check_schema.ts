import { z } from "@hono/zod-openapi";
import { ImageSourceSchema, PredictionSchema } from "../schemas.ts";

const ClassRef = z.object({ index: z.number().int(), label: z.string() });

export const ProbeSchema = z.object({
  attack: z.enum(["fgsm", "pgd", "eot-pgd"]),
  norm: z.enum(["linf", "l2"]),
  eps: z.number(),
  steps: z.number().int(),
  alpha: z.number(),
  restarts: z.number().int(),
  randomStart: z.boolean(),
  targeted: z.boolean(),
  target: z.number().int().nullable(),
  loss: z.enum(["ce", "margin"]),
  success: z.boolean(),
  iterations: z.number().int().openapi({
    description: "First adversarial iterate (0 = start) on success, else steps run",
  }),
  adversarial: z.object({ index: z.number().int(), label: z.string(), confidence: z.number() }),
  perturbation: z.object({ linf: z.number(), l2: z.number() }),
  gradient: z.enum(["exact", "spsa"]),
}).openapi("Probe");

export const CheckReportSchema = z.object({
  model: z.object({ id: z.string(), sha256: z.string() }),
  backend: z.string(),
  prediction: PredictionSchema,
  label: ClassRef.extend({ source: z.enum(["request", "prediction"]) }),
  target: ClassRef.nullable(),
  squeeze: z.object({
    scores: z.record(z.string(), z.number()),
    joint: z.number(),
    threshold: z.number().nullable(),
    thresholdSource: z.enum(["request", "calibration", "manifest", "none"]),
    flagged: z.boolean(),
  }).nullable(),
  randomization: z.object({
    draws: z.number().int(),
    agreement: z.number(),
    votes: z.array(ClassRef.extend({ count: z.number().int() })),
    // A union, not `.nullable()`: zod-to-openapi documents an extended schema's nullable as allOf [Probe, …],
    // which rejects null.
    eot: z.union([
      ProbeSchema.extend({ samples: z.number().int(), fooledFraction: z.number(), evalDraws: z.number().int() }),
      z.null(),
    ]),
  }).nullable(),
  probes: z.array(ProbeSchema),
  minimalEpsilon: z.object({
    linf: z.number().nullable().openapi({
      description: "Upper bound on the L∞ robust radius; null when `high` did not break it",
    }),
    broken: z.boolean(),
    method: z.literal("bisection-pgd-linf"),
    bounds: z.tuple([z.number(), z.number().nullable()]),
    gradient: z.enum(["exact", "spsa"]),
  }).nullable(),
  score: z.number().openapi({ description: "0.5·fragility + 0.3·squeeze + 0.2·instability (README)" }),
  scoreParts: z.object({ fragility: z.number(), squeeze: z.number(), instability: z.number() }),
  verdict: z.object({ suspectedAdversarial: z.boolean(), fragile: z.boolean(), reasons: z.array(z.string()) }),
  images: z.object({ source: z.string(), adversarial: z.string().optional(), perturbation: z.string().optional() })
    .optional(),
  cost: z.object({ estimated: z.number(), budget: z.number() }),
  timings: z.record(z.string(), z.number()),
  seed: z.number().int(),
  options: z.record(z.string(), z.unknown()).openapi({ description: "The effective options after defaults" }),
  image: ImageSourceSchema,
}).openapi("CheckReport");
