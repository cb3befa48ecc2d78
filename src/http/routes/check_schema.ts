import { z } from "@hono/zod-openapi";
import type { AnyProbe } from "../../check/probe.ts";
import { AttackReportSchema } from "../../check/probes/attack_schema.ts";
import { PROBES } from "../../check/probes/index.ts";
import type { CheckReport, ProbeSections } from "../../check/run_check.ts";
import { ImageSourceSchema, PredictionSchema } from "../schemas.ts";

const ClassRef = z.object({ index: z.number().int(), label: z.string() });

export const ProbeSchema = AttackReportSchema;

type SectionsShape = { [K in keyof ProbeSections]: z.ZodType<ProbeSections[K]> };

/** Each probe's report section (nullable: null when the probe is off); attack probes share `probes`. */
function probeSectionsShape(): SectionsShape {
  const shape: Record<string, z.ZodType> = {};
  for (const probe of PROBES as readonly AnyProbe[]) {
    if (probe.report === "section") shape[probe.key] = probe.section.nullable();
    else shape.probes ??= z.array(ProbeSchema);
  }
  return shape as SectionsShape;
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
  images: z.object({
    source: z.string(),
    adversarial: z.string().optional(),
    perturbation: z.string().optional(),
    original: z.string().optional().openapi({ description: "The image as the model saw it (model size), base64 PNG" }),
  }).optional(),
  cost: z.object({ estimated: z.number(), budget: z.number() }),
  timings: z.record(z.string(), z.number()),
  seed: z.number().int(),
  options: z.record(z.string(), z.unknown()).openapi({ description: "The effective options after defaults" }),
  image: ImageSourceSchema,
}).openapi("CheckReport");

type DocumentedReport = z.infer<typeof CheckReportSchema>;
type Holds<T extends true> = T;
/** Compile-time check: the report the service builds (+ `image`) is what this schema documents. */
export type ReportIsDocumented = Holds<
  (CheckReport & Pick<DocumentedReport, "image">) extends DocumentedReport ? true : false
>;
