import { z } from "zod";

/**
 * What a model is, as every layer sees it (manifest.json beside model.onnx). It says how [0,1]
 * pixels become the model input: input = (pixel × (scale === "byte" ? 255 : 1) − mean[c]) / std[c],
 * laid out as `layout`. mean/std are in the scaled units (so a "byte" model lists means like 123.7).
 */
export const ModelSpecSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "lowercase letters, digits, . _ - (max 64)"),
  description: z.string().optional(),
  labels: z.array(z.string().min(1)).min(2),
  input: z.object({
    name: z.string().min(1),
    layout: z.enum(["NCHW", "NHWC"]),
    channels: z.union([z.literal(1), z.literal(3)]),
    height: z.number().int().min(1).max(4096),
    width: z.number().int().min(1).max(4096),
    scale: z.enum(["unit", "byte"]),
    mean: z.array(z.number()),
    std: z.array(z.number().positive()),
  }).strict().refine((i) => i.mean.length === i.channels && i.std.length === i.channels, {
    message: "mean and std need one entry per channel",
    path: ["mean"],
  }),
  output: z.object({
    name: z.string().min(1),
    kind: z.enum(["logits", "probabilities"]),
  }).strict(),
  provenance: z.record(z.string(), z.unknown()).optional(),
});

export type ModelSpec = z.infer<typeof ModelSpecSchema>;
export type InputSpec = ModelSpec["input"];
export type OutputSpec = ModelSpec["output"];

/**
 * Per-model defaults a manifest may carry. `check` has the shape of request options; the check
 * layer owns that shape (src/check/options.ts) and the registry validates it when it loads a model.
 */
export interface ModelDefaults {
  squeezeThreshold?: number;
  check?: Record<string, unknown>;
}

/** A manifest = the model spec + its defaults. */
export type Manifest = ModelSpec & { defaults?: ModelDefaults };
