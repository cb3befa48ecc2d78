import { z } from "@hono/zod-openapi";

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "unknown_model" }),
    message: z.string(),
  }),
}).openapi("Error");

export const ModelIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "fashion-cnn" }),
});

export const CalibrationSchema = z.object({
  threshold: z.number(),
  fpr: z.number(),
  count: z.number().int(),
  calibratedAt: z.string(),
}).openapi("Calibration");

export const ModelInfoSchema = z.object({
  id: z.string(),
  description: z.string().optional(),
  labels: z.array(z.string()),
  input: z.object({
    name: z.string(),
    layout: z.enum(["NCHW", "NHWC"]),
    channels: z.number().int(),
    height: z.number().int(),
    width: z.number().int(),
    scale: z.enum(["unit", "byte"]),
    mean: z.array(z.number()),
    std: z.array(z.number()),
  }),
  output: z.object({ name: z.string(), kind: z.enum(["logits", "probabilities"]) }),
  sha256: z.string(),
  backend: z.string(),
  maxBatch: z.number().int(),
  gradient: z.object({
    mode: z.enum(["exact", "spsa"]),
    unsupported: z.array(z.string()),
    reason: z.string().optional(),
    buildMs: z.record(z.string(), z.number()),
  }),
  squeeze: z.object({
    threshold: z.number().nullable(),
    source: z.enum(["calibration", "manifest", "none"]),
    calibration: CalibrationSchema.nullable(),
  }),
  provenance: z.record(z.string(), z.unknown()).optional(),
  source: z.enum(["seed", "upload"]).openapi({ description: "seed: read-only, from ROBUSTCHECK_MODELS_DIR" }),
  version: z.number().int().nullable().openapi({ description: "Upload version (null for seeds)" }),
  versions: z.array(z.number().int()).openapi({ description: "Every stored version of an uploaded model" }),
}).openapi("Model");

export const VersionQuery = z.object({
  version: z.string().optional().openapi({
    param: { name: "version", in: "query" },
    description: "An uploaded model's version (default: the current one)",
    example: "1",
  }),
});

export const RankedLabelSchema = z.object({ index: z.number().int(), label: z.string(), probability: z.number() });

export const PredictionSchema = z.object({
  index: z.number().int(),
  label: z.string(),
  confidence: z.number(),
  topK: z.array(RankedLabelSchema),
}).openapi("Prediction");

export const ImageSourceSchema = z.object({
  format: z.enum(["png", "jpeg"]),
  width: z.number().int(),
  height: z.number().int(),
  bitDepth: z.number().int(),
  resized: z.boolean(),
});

export const PredictResponseSchema = z.object({
  model: z.object({ id: z.string(), sha256: z.string() }),
  prediction: PredictionSchema,
  image: ImageSourceSchema,
  backend: z.string(),
  timings: z.object({ decodeMs: z.number(), inferenceMs: z.number(), totalMs: z.number() }),
}).openapi("PredictResponse");

/** The three accepted ways to send an image, for the OpenAPI document. */
export const imageBodyContent = {
  "image/png": { schema: z.string().openapi({ format: "binary" }) },
  "image/jpeg": { schema: z.string().openapi({ format: "binary" }) },
  "multipart/form-data": {
    schema: z.object({
      image: z.string().openapi({ format: "binary" }),
      options: z.string().optional().openapi({ description: "JSON-encoded options" }),
    }),
  },
  "application/json": {
    schema: z.object({
      image: z.string().openapi({ description: "base64 image bytes (or a data: URL)" }),
      options: z.record(z.string(), z.unknown()).optional(),
    }),
  },
};

export const errorResponses = {
  400: { description: "Malformed body", content: { "application/json": { schema: ErrorSchema } } },
  404: { description: "Unknown model", content: { "application/json": { schema: ErrorSchema } } },
  413: { description: "Body or image over the limits", content: { "application/json": { schema: ErrorSchema } } },
  415: { description: "Unsupported content or image type", content: { "application/json": { schema: ErrorSchema } } },
  422: {
    description: "Undecodable image or invalid options",
    content: { "application/json": { schema: ErrorSchema } },
  },
};
