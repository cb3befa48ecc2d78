import { z } from "@hono/zod-openapi";
import type { AnyProbe } from "../../check/probe.ts";
import { AttackReportSchema } from "../../check/probes/attack_schema.ts";
import { PROBES } from "../../check/probes/mod.ts";
import type { CheckReport } from "../../check/run_check.ts";
import { ImageSourceSchema, PredictionSchema } from "../schemas.ts";

const ClassRef = z.object({ index: z.number().int(), label: z.string() });

export const ProbeSchema = AttackReportSchema;

/** Each probe's report section (nullable: null when the probe is off); attack probes share `probes`. */
function probeSectionsShape(): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const probe of PROBES as readonly AnyProbe[]) {
    if (probe.report === "section") shape[probe.key] = probe.section.nullable();
    else shape.probes ??= z.array(ProbeSchema);
  }
  return shape;
}

export const CheckReportSchema = z.object({
  model: z.object({ id: z.string(), sha256: z.string() }),
  backend: z.string(),
  prediction: PredictionSchema,
  label: ClassRef.extend({ source: z.enum(["request", "prediction"]) }),
  target: ClassRef.nullable(),
  ...probeSectionsShape(),
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

/** The report the service builds is what the schema documents (a compile-time check of the base fields). */
export type CheckReportBody = CheckReport & { image: z.infer<typeof ImageSourceSchema> };
