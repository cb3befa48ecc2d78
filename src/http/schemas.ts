import { type RouteConfig, z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { IMAGE_BASE64_EXAMPLE } from "./examples.ts";

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
  format: z.enum(["png", "jpeg", "webp"]),
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

type ResponseConfig = RouteConfig["responses"][string];
type ZodContentObject = NonNullable<NonNullable<RouteConfig["request"]>["body"]>["content"];

/** A JSON error body, as `handleError` writes it. */
const errorExample = (code: ErrorCode) => ({ value: { error: { code, message: ERRORS[code].message } } });

/** Every error code a route can answer, its status and a message the server really gave (README's error table). */
const ERRORS = {
  invalid_json: {
    status: 400,
    message: "request body is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
  },
  invalid_multipart: { status: 400, message: "the multipart body could not be parsed" },
  unknown_model: { status: 404, message: 'no model with id "nope"' },
  payload_too_large: { status: 413, message: "request body exceeds the limit of 10000000 bytes" },
  image_too_large: { status: 413, message: "the image is 9000×9000 = 81000000 pixels; the limit is 40000000" },
  unsupported_media_type: {
    status: 415,
    message: "Content-Type text/plain is not accepted; send image/png, image/jpeg, multipart/form-data or " +
      "application/json",
  },
  unsupported_image_format: { status: 415, message: "the body is not a PNG, JPEG or WebP image" },
  missing_image: { status: 422, message: "JSON body needs an `image` field holding base64 image bytes" },
  invalid_base64: { status: 422, message: "`image` is not valid base64" },
  undecodable_image: { status: 422, message: "the PNG header could not be read" },
  invalid_query: { status: 422, message: "topK: Too small: expected number to be >=1" },
  invalid_options: { status: 422, message: "options.fgsm.eps.0: Too big: expected number to be <=1" },
  limit_exceeded: {
    status: 422,
    message: "maxCost: these options need up to 64431 forward-pass equivalents; the limit is 50000",
  },
  invalid_body: { status: 400, message: "the upload could not be read (multipart: unexpected end of input)" },
  forbidden: {
    status: 403,
    message: "models can only be uploaded or deleted from the server's own machine (loopback) until API keys exist",
  },
  unknown_audit: { status: 404, message: 'no audit with id "0b9c…"' },
  read_only_model: { status: 409, message: 'model "fashion-cnn" is a read-only seed from the models directory' },
  label_set_conflict: {
    status: 409,
    message: 'labels: model "m" already exists with other labels; a new version must keep them',
  },
  report_not_ready: { status: 409, message: "the audit is running: its report exists once it is done" },
  model_too_large: { status: 413, message: "model: larger than ROBUSTCHECK_MAX_MODEL_BYTES (200000000 bytes)" },
  dataset_too_large: { status: 413, message: "maxFiles: the archive has more than 10000 entries" },
  unsupported_archive: { status: 415, message: "archiveFormat: the archive is not ZIP, tar or tar.gz" },
  invalid_manifest: { status: 422, message: "manifest: labels: Required" },
  missing_manifest: { status: 422, message: "manifest: a multipart field is required" },
  missing_model: { status: 422, message: "model: a multipart file field is required" },
  invalid_onnx: { status: 422, message: "model: the file is empty" },
  invalid_model: { status: 422, message: "model: onnxruntime cannot load it (…)" },
  unsupported_opset: { status: 422, message: "model: opset 6 is outside the supported range 9–21" },
  manifest_mismatch: { status: 422, message: 'manifest.input.name: the model has no input "x"' },
  invalid_output: {
    status: 422,
    message: "manifest.labels: one image gives 10 outputs but the manifest lists 3 labels",
  },
  non_finite_output: { status: 422, message: "model: a blank image gives non-finite outputs (NaN or ±Inf)" },
  gradient_check_failed: {
    status: 422,
    message:
      "model: the derived gradient disagrees with finite differences (relative error 0.5); please report the model",
  },
  unknown_dataset: { status: 422, message: 'builtin: no builtin dataset "mnist"; known: fashion-mnist-sample' },
  invalid_request: { status: 422, message: "dataset: {builtin: name} or a list of {image, label}" },
  invalid_plan: { status: 422, message: "plan.attacks.0.eps: Too big: expected number to be <=1" },
  invalid_dataset: {
    status: 422,
    message: 'unknownLabel: boot/0001.png: label "boot" is not one of the model\'s labels',
  },
  internal_error: { status: 500, message: "the server failed to handle this request" },
  uploads_unavailable: { status: 503, message: "this server has no model database" },
  audits_unavailable: { status: 503, message: "this server runs without audits" },
} as const;
type ErrorCode = keyof typeof ERRORS;
type ErrorStatus = (typeof ERRORS)[ErrorCode]["status"];

const STATUS_MEANING: Record<ErrorStatus, string> = {
  400: "Malformed body",
  403: "Writes are refused from non-loopback clients until API keys exist",
  404: "Unknown model or audit",
  409: "Conflicts with the stored state",
  413: "Body or image over the limits",
  415: "Unsupported content or image type",
  422: "The request is well-formed but cannot be processed",
  500: "A server fault (logged; never caused by input)",
  503: "A service this server was started without",
};

/** What reading one image body (intake) can answer. */
export const IMAGE_BODY_ERRORS: ErrorCode[] = [
  "invalid_json",
  "invalid_multipart",
  "payload_too_large",
  "image_too_large",
  "unsupported_media_type",
  "unsupported_image_format",
  "missing_image",
  "invalid_base64",
  "undecodable_image",
];

/** The error responses of a route: one per status, listing its codes, with one example per code. */
export function errorResponses(codes: ErrorCode[]): Partial<Record<ErrorStatus, ResponseConfig>> {
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of [...codes, "internal_error" as const]) {
    byStatus.set(ERRORS[code].status, [...(byStatus.get(ERRORS[code].status) ?? []), code]);
  }
  const responses: Partial<Record<ErrorStatus, ResponseConfig>> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: `${STATUS_MEANING[status]}: ${group.map((c) => `\`${c}\``).join(", ")}`,
      content: {
        "application/json": {
          schema: ErrorSchema,
          examples: Object.fromEntries(group.map((code) => [code, errorExample(code)])),
        },
      },
    };
  }
  return responses;
}

const binaryImage = {
  schema: z.string().openapi({
    format: "binary",
    description: "The image file's bytes (PNG, JPEG or WebP: the format is read from the bytes, not the Content-Type)",
  }),
};

/**
 * The ways one image can be sent (src/intake/read_body.ts), for the OpenAPI document: JSON (base64 or a data: URL),
 * multipart field `image`, or the raw bytes. With an `options` schema, JSON and multipart bodies carry options too
 * (multipart: a JSON-encoded `options` field).
 */
export function imageBodyContent(
  withOptions?: { schema: ZodType; example: unknown },
): ZodContentObject {
  const options = withOptions && { options: withOptions.schema.optional() };
  const optionsExample = withOptions && { options: withOptions.example };
  return {
    "application/json": {
      schema: z.object({
        image: z.string().openapi({ description: "The image file's bytes, base64 (standard alphabet) or a data: URL" }),
        ...options,
      }),
      example: { image: IMAGE_BASE64_EXAMPLE, ...optionsExample },
    },
    "multipart/form-data": {
      schema: z.object({
        image: z.string().openapi({ format: "binary", description: "A PNG, JPEG or WebP file" }),
        ...options,
      }),
      ...(withOptions && { encoding: { options: { contentType: "application/json" } } }),
    },
    "image/png": binaryImage,
    "image/jpeg": binaryImage,
    "image/webp": binaryImage,
    "application/octet-stream": binaryImage,
  };
}

/** Several clean images (src/intake/read_body.ts `readImagesBody`): JSON `images` or repeated multipart `image`. */
export function imagesBodyContent(withOptions: { schema: ZodType; example: unknown }): ZodContentObject {
  return {
    "application/json": {
      schema: z.object({
        images: z.array(z.string()).openapi({ description: "Image files, each base64 or a data: URL" }),
        options: withOptions.schema.optional(),
      }),
      example: { images: [IMAGE_BASE64_EXAMPLE], options: withOptions.example },
    },
    "multipart/form-data": {
      schema: z.object({
        image: z.array(z.string().openapi({ format: "binary" })).openapi({
          description: "One part per image, each named `image`",
        }),
        options: withOptions.schema.optional(),
      }),
      encoding: { options: { contentType: "application/json" } },
    },
  };
}
