import { z } from "zod";
import { CheckOptionsSchema } from "../check/options.ts";
import { ModelSpecSchema } from "../model/manifest.ts";

/** Per-model probe defaults a manifest may carry; request options override them. */
export const ManifestDefaultsSchema = z.object({
  squeezeThreshold: z.number().nonnegative().optional(),
  /** Overrides of the server's check defaults for this model (same shape as request options). */
  check: CheckOptionsSchema.optional(),
}).strict();

/** manifest.json as the registry validates it: the model spec (src/model) + check defaults. */
export const ManifestSchema = ModelSpecSchema.extend({ defaults: ManifestDefaultsSchema.optional() }).strict();
