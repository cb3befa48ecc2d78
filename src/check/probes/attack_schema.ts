import { z } from "@hono/zod-openapi";
import { LOSS_KINDS } from "../../model/classifier.ts";
import { type AttackReport, CHECK_ATTACKS } from "../probe.ts";

/** One FGSM/PGD/EoT-PGD row of the report (the shared `probes` list and the EoT section). */
export const AttackReportSchema = z.object({
  attack: z.enum(CHECK_ATTACKS),
  norm: z.enum(["linf", "l2"]),
  eps: z.number(),
  steps: z.number().int(),
  alpha: z.number(),
  restarts: z.number().int(),
  randomStart: z.boolean(),
  targeted: z.boolean(),
  target: z.number().int().nullable(),
  loss: z.enum(LOSS_KINDS),
  success: z.boolean(),
  iterations: z.number().int().openapi({
    description: "First adversarial iterate (0 = start) on success, else steps run",
  }),
  adversarial: z.object({ index: z.number().int(), label: z.string(), confidence: z.number() }),
  perturbation: z.object({ linf: z.number(), l2: z.number() }),
  gradient: z.enum(["exact", "spsa"]),
}).openapi("Probe") satisfies z.ZodType<AttackReport>;

export const AttackRowsSchema = z.array(AttackReportSchema);
