/**
 * The audit report's JSON schema (version 1), declared once in zod: the TypeScript type is
 * inferred from it, and the HTTP layer can register it in the OpenAPI document. Conventions are
 * documented in docs/AUDITS.md.
 */
import { z } from "zod";

export const REPORT_SCHEMA = "robustcheck.audit-report";
export const REPORT_VERSION = 1;

const Estimate = z.object({
  count: z.number().int(),
  total: z.number().int(),
  rate: z.number().nullable(),
  low: z.number().nullable().describe("95% Wilson interval"),
  high: z.number().nullable(),
});

const Norm = z.enum(["linf", "l2"]);
const Quantiles = z.object({
  p10: z.number().nullable(),
  p25: z.number().nullable(),
  p50: z.number().nullable(),
  p75: z.number().nullable(),
  p90: z.number().nullable(),
});
const Bin = z.object({ low: z.number(), high: z.number(), count: z.number().int() });

export const AuditReportSchema = z.object({
  schema: z.literal(REPORT_SCHEMA),
  version: z.literal(REPORT_VERSION),
  provenance: z.object({
    model: z.object({
      id: z.string(),
      version: z.string().nullable(),
      sha256: z.string(),
      manifest: z.unknown(),
      backend: z.string(),
      gradientMode: z.enum(["exact", "spsa"]),
    }),
    dataset: z.object({
      sha256: z.string().nullable(),
      source: z.string().nullable().describe("zip, tar, tar.gz, json or builtin:<name>"),
      images: z.number().int().describe("images audited (after any subsample)"),
      datasetImages: z.number().int().nullable().describe("images in the dataset before any subsample"),
      counts: z.array(z.object({ index: z.number().int(), label: z.string(), count: z.number().int() })),
    }),
    plan: z.unknown().describe("the effective plan, every default resolved"),
    seed: z.number().int(),
    software: z.record(z.string(), z.string()),
    started: z.string().nullable(),
    finished: z.string().nullable(),
    wallMs: z.number().nullable(),
    shards: z.number().int(),
    timingsMs: z.record(z.string(), z.number()).describe("summed over shards, per stage"),
    compute: z.record(z.string(), z.number()).describe("forward-pass equivalents per stage"),
  }),
  images: z.object({ total: z.number().int(), evaluated: z.number().int(), errors: z.number().int() }),
  errors: z.array(z.object({ index: z.number().int(), name: z.string(), code: z.string(), message: z.string() })),
  clean: z.object({ accuracy: Estimate }),
  robustness: z.array(z.object({
    attack: z.string(),
    kind: z.string(),
    norm: Norm,
    eps: z.number(),
    accuracy: Estimate,
  })),
  worstCase: z.array(z.object({ norm: Norm, eps: z.number(), attacks: z.array(z.string()), accuracy: Estimate })),
  perClass: z.array(z.object({
    index: z.number().int(),
    label: z.string(),
    clean: Estimate,
    worstCase: z.array(z.object({ norm: Norm, eps: z.number(), accuracy: Estimate })),
  })),
  confusion: z.array(z.object({
    attack: z.string(),
    eps: z.number(),
    matrix: z.array(z.array(z.number().int())).describe("[true label][prediction under attack]"),
  })),
  minimalEpsilon: z.object({
    high: z.number(),
    images: z.number().int(),
    alreadyWrong: z.number().int(),
    broken: z.number().int(),
    unbroken: z.number().int(),
    quantiles: Quantiles.describe("null = above `high` (not broken)"),
    histogram: z.array(Bin),
  }).nullable(),
  detection: z.object({
    squeezers: z.array(z.string()),
    threshold: z.number().nullable(),
    clean: z.number().int(),
    adversarial: z.number().int(),
    auc: z.number().nullable(),
    roc: z.array(z.object({ threshold: z.number().nullable(), fpr: z.number(), tpr: z.number() })),
    atThreshold: z.object({ detectionRate: Estimate, falsePositiveRate: Estimate }).nullable(),
    perAttack: z.array(z.object({ attack: z.string(), eps: z.number(), detected: Estimate.nullable() })),
  }).nullable(),
  randomization: z.object({
    draws: z.number().int(),
    agreement: z.object({ mean: z.number().nullable(), quantiles: Quantiles, histogram: z.array(Bin) }),
    eot: z.object({ eps: z.number(), success: Estimate }).nullable(),
  }).nullable(),
  spsa: z.object({
    images: z.number().int(),
    eps: z.array(z.object({
      eps: z.number(),
      success: Estimate,
      gradientSuccess: Estimate.nullable(),
      spsaOnly: z.number().int(),
    })),
  }).nullable(),
  gradients: z.object({ checked: z.number().int(), zero: z.number().int() }),
  determinism: z.object({ rows: z.number().int(), maxAbsDiff: z.number(), argmaxChanged: z.number().int() }),
  flags: z.array(z.object({
    code: z.string(),
    severity: z.enum(["info", "warning"]),
    message: z.string(),
    meaning: z.string(),
    action: z.string(),
  })),
  examples: z.array(z.object({
    index: z.number().int(),
    name: z.string(),
    label: z.number().int(),
    attack: z.string(),
    eps: z.number(),
    prediction: z.number().int(),
    linf: z.number(),
    clean: z.string(),
    adversarial: z.string(),
    perturbation: z.string(),
  })),
});

export type AuditReport = z.infer<typeof AuditReportSchema>;
