import { z } from "zod";

/** Server-wide bounds on one check request (a request over any of them is a 422 naming it). */
export interface CheckLimits {
  maxSteps: number;
  maxRestarts: number;
  maxDraws: number;
  maxEpsList: number;
  maxPgdProbes: number;
  maxBisectionSteps: number;
  maxSqueezers: number;
  /** Per-request compute budget in forward-pass equivalents (one gradient row counts 2). */
  maxCost: number;
}

export const DEFAULT_CHECK_LIMITS: CheckLimits = {
  maxSteps: 1000,
  maxRestarts: 32,
  maxDraws: 256,
  maxEpsList: 16,
  maxPgdProbes: 8,
  maxBisectionSteps: 30,
  maxSqueezers: 8,
  maxCost: 50_000,
};

const eps = z.number().min(0).max(1);
const int = (min: number) => z.number().int().min(min);

export const SqueezerSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("bitDepth"), bits: z.number().int().min(1).max(8) }).strict(),
  z.object({ kind: z.literal("median"), size: z.number().int().min(1).max(11) }).strict(),
  z.object({
    kind: z.literal("nonLocalMeans"),
    search: z.number().int().min(1).max(21).refine((v) => v % 2 === 1, "search must be odd"),
    patch: z.number().int().min(1).max(11).refine((v) => v % 2 === 1, "patch must be odd"),
    h: z.number().positive().max(255),
  }).strict(),
]);
export type Squeezer = z.infer<typeof SqueezerSchema>;

const PgdProbeSchema = z.object({
  norm: z.enum(["linf", "l2"]).default("linf"),
  eps: z.number().min(0),
  alpha: z.number().positive().optional(),
  steps: int(1).default(20),
  randomStart: z.boolean().default(false),
  restarts: int(1).default(1),
  loss: z.enum(["ce", "margin"]).default("ce"),
}).strict();

const EotSchema = z.object({
  steps: int(1).default(10),
  eps: eps.optional(),
  alpha: z.number().positive().optional(),
  samples: int(1).default(8),
}).strict();

/**
 * The public options contract of `POST /v1/models/{id}/check`. Every probe key may be `false`
 * (off); an absent key takes the default (manifest `defaults.check`, then the server's).
 */
export const CheckOptionsSchema = z.object({
  label: int(0).nullable().optional(),
  target: int(0).nullable().optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  topK: int(1).max(1000).optional(),
  squeeze: z.union([
    z.literal(false),
    z.object({ squeezers: z.array(SqueezerSchema).min(1).optional(), threshold: z.number().nonnegative().optional() })
      .strict(),
  ]).optional(),
  randomization: z.union([
    z.literal(false),
    z.object({
      draws: int(1).optional(),
      minSize: int(1).optional(),
      maxSize: int(2).optional(),
      canvas: int(1).optional(),
      eot: z.union([z.literal(false), EotSchema]).optional(),
    }).strict(),
  ]).optional(),
  fgsm: z.union([z.literal(false), z.object({ eps: z.array(eps).min(1) }).strict()]).optional(),
  pgd: z.union([z.literal(false), z.array(PgdProbeSchema).min(1)]).optional(),
  minimalEpsilon: z.union([
    z.literal(false),
    z.object({
      low: eps.optional(),
      high: eps.optional(),
      bisectionSteps: int(1).optional(),
      steps: int(1).optional(),
      alphaFactor: z.number().positive().max(1).optional(),
      randomStart: z.boolean().optional(),
    }).strict(),
  ]).optional(),
  return: z.array(z.enum(["adversarial", "perturbation"])).optional(),
}).strict();

export type CheckOptionsInput = z.infer<typeof CheckOptionsSchema>;
