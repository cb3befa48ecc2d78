import { type RouteConfig, z } from "@hono/zod-openapi";
import type { ZodType } from "zod";
import { IMAGE_BASE64_EXAMPLE } from "./examples.ts";
import { PROFILES } from "../check/options.ts";
import { PARALLEL_KEEP } from "../runtime/onnx_classifier.ts";

export const ErrorSchema = z.object({
  error: z.object({
    code: z.string().openapi({ example: "unknown_model" }),
    message: z.string(),
  }),
}).openapi("Error");

export const ModelIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "fashion-cnn" }),
});

const AttackFiguresSchema = z.object({
  auc: z.number().nullable(),
  detectionRate: z.number().nullable(),
  examples: z.number().int(),
});
const PerAttackSchema = z.object({ fgsm: AttackFiguresSchema, pgd: AttackFiguresSchema });
const HeldOutFiguresSchema = z.object({
  squeezers: z.array(z.string()),
  threshold: z.number(),
  fpr: z.number(),
  attacks: PerAttackSchema,
});

/** src/calibration/squeezer_selection.ts `SelectionReport`. */
export const SelectionReportSchema = z.object({
  seed: z.number().int(),
  dataSha256: z.string(),
  attacks: z.object({
    fgsm: z.object({ eps: z.number() }),
    pgd: z.object({
      norm: z.enum(["linf", "l2"]),
      eps: z.number(),
      alpha: z.number(),
      steps: z.number().int(),
      randomStart: z.boolean(),
      restarts: z.number().int(),
      loss: z.string(),
    }),
  }),
  counts: z.object({
    images: z.number().int(),
    selection: z.number().int(),
    heldOut: z.number().int(),
    adversarial: z.object({
      selection: z.object({ fgsm: z.number().int(), pgd: z.number().int() }),
      heldOut: z.object({ fgsm: z.number().int(), pgd: z.number().int() }),
    }),
  }),
  search: z.object({ candidates: z.array(z.string()), maxSetSize: z.number().int(), sets: z.number().int() }),
  candidates: z.array(z.object({
    squeezers: z.array(z.string()),
    threshold: z.number(),
    detectionRate: z.number(),
    attacks: PerAttackSchema,
  })).openapi({ description: "Every evaluated set on the selection half, best first" }),
  chosen: z.array(z.string()),
  threshold: z.number(),
  heldOut: HeldOutFiguresSchema.openapi({ description: "The chosen set on images not used to choose it" }),
  baseline: HeldOutFiguresSchema.openapi({ description: "The model's default squeezers, measured the same way" }),
}).openapi("SelectionReport");

export const CalibrationSchema = z.object({
  threshold: z.number(),
  fpr: z.number(),
  count: z.number().int(),
  squeezers: z.array(z.string()),
  calibratedAt: z.string(),
  selection: SelectionReportSchema.optional(),
}).openapi("Calibration");

const SingleRowSchema = z.object({
  executor: z.enum(["sequential", "parallel"]),
  sequentialMs: z.number(),
  parallelMs: z.number(),
}).openapi({
  description: "onnxruntime-node with several threads: the fastest batch-1 gradient run at load on the sequential " +
    "executor (each kernel split across the threads) and on the parallel one (independent nodes at once); " +
    `single-row gradients run on the executor kept (parallel when it took at most ${PARALLEL_KEEP}× the sequential's time)`,
});

/** A loaded model's `gradientInfo` (src/runtime/onnx_classifier.ts). */
export const GradientInfoSchema = z.object({
  mode: z.enum(["exact", "spsa"]),
  unsupported: z.array(z.string()),
  reason: z.string().optional(),
  buildMs: z.record(z.string(), z.number()),
  singleRow: SingleRowSchema.optional(),
});

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
  gradient: GradientInfoSchema,
  squeeze: z.object({
    threshold: z.number().nullable(),
    source: z.enum(["calibration", "manifest", "none"]),
    squeezers: z.array(z.string()).openapi({
      description:
        "The squeezers a check without `squeeze.squeezers` uses (a selected calibration's set, else defaults)",
    }),
    calibration: CalibrationSchema.nullable(),
  }),
  profiles: z.array(z.object({
    name: z.enum(PROFILES),
    cost: z.number().int().openapi({
      description: "Forward-pass equivalents a check with `{profile}` only may spend on this model",
    }),
  })).openapi({ description: 'The check profiles (README "Check profiles") and their cost estimates' }),
  provenance: z.record(z.string(), z.unknown()).optional(),
  source: z.enum(["seed", "upload"]).openapi({ description: "seed: read-only, from ROBUSTCHECK_MODELS_DIR" }),
  version: z.number().int().nullable().openapi({ description: "Upload version (null for seeds)" }),
  versions: z.array(z.number().int()).openapi({ description: "Every stored version of an uploaded model" }),
}).openapi("Model");

export const VersionQuery = z.object({
  version: z.string().optional().openapi({
    param: { name: "version", in: "query" },
    // No example: Swagger's try-it-out would send it, and a seed model has no version 1.
    description: "An uploaded model's version (default: the current one)",
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
  incomplete_body: { status: 400, message: "the request body was cut off: connection reset by peer" },
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
  invalid_labels: { status: 422, message: "labels: squeezer selection needs images of at least two classes" },
  too_few_images: {
    status: 422,
    message: "squeezer selection needs at least 20 images (half select, half measure); got 4",
  },
  invalid_body: { status: 400, message: "the upload could not be read (Body can not be decoded as form data)" },
  read_only_model: { status: 409, message: 'model "fashion-cnn" is a read-only seed from the models directory' },
  model_in_use: {
    status: 409,
    message: 'model "my-model" version 1 is used by audit a1b2c3, which has not ended; cancel it or wait',
  },
  label_set_conflict: {
    status: 409,
    message: 'labels: model "my-model" already exists with other labels; a new version must keep them',
  },
  model_too_large: { status: 413, message: "model: larger than ROBUSTCHECK_MAX_MODEL_BYTES (200000000 bytes)" },
  missing_model: { status: 422, message: "model: a multipart file field is required" },
  missing_manifest: { status: 422, message: "manifest: a multipart field is required" },
  invalid_manifest: { status: 422, message: "manifest.json: labels: Too small: expected array to have >=2 items" },
  invalid_onnx: { status: 422, message: "model: not an ONNX model, or truncated (index out of range)" },
  unsupported_opset: { status: 422, message: "model: opset 7 is outside the supported range 9–21" },
  invalid_model: { status: 422, message: "model: onnxruntime cannot load it (invalid graph)" },
  manifest_mismatch: { status: 422, message: 'manifest.input.name: the graph has no input "pixels"' },
  invalid_output: { status: 422, message: 'manifest.output.name: "logits" is [N,5], expected [N, 10]' },
  non_finite_output: { status: 422, message: "model: a blank image gives non-finite outputs (NaN or ±Inf)" },
  gradient_check_failed: {
    status: 422,
    message: "model: the derived gradient disagrees with finite differences (relative error 0.512); please report " +
      "the model",
  },
  unknown_audit: { status: 404, message: 'no audit with id "0b9c…"' },
  report_not_ready: { status: 409, message: "the audit is running: its report exists once it is done" },
  dataset_too_large: { status: 413, message: "maxFiles: the archive has more than 10000 entries" },
  unsupported_archive: { status: 415, message: "archiveFormat: the archive is not ZIP, tar or tar.gz" },
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
  unauthorized: { status: 401, message: "this route needs `Authorization: Bearer <API key>`" },
  forbidden: { status: 403, message: 'the key "ci" lacks the `write` scope' },
  request_timeout: { status: 408, message: "the request body did not arrive within 30000 ms" },
  rate_limited: { status: 429, message: 'the key "ci" is over its 600 requests per minute; retry in 1 s' },
  overloaded: { status: 503, message: "the server is at capacity (2 running, 64 waiting); retry in 9 s" },
  deadline_exceeded: { status: 503, message: "the request did not finish within 120000 ms" },
  shutting_down: { status: 503, message: "the server is shutting down" },
  worker_restarted: {
    status: 503,
    message: "the inference Worker failed and is being replaced; retry the request",
  },
} as const;
type ErrorCode = keyof typeof ERRORS;
type ErrorStatus = (typeof ERRORS)[ErrorCode]["status"];

const STATUS_MEANING: Record<ErrorStatus, string> = {
  400: "Malformed body",
  401: "No API key, or an unknown one (with `WWW-Authenticate: Bearer`)",
  403: "The key lacks the route's scope (or, with no keys configured, a write from a non-loopback client)",
  408: "The request body arrived too slowly",
  429: "The key is over its rate (with `Retry-After`)",
  503: "Not now: at capacity (with `Retry-After`), past the deadline, shutting down, a Worker restarted, no database " +
    "or no audits",
  404: "Unknown model or audit",
  413: "Body or image over the limits",
  409: "Conflicts with what is stored",
  415: "Unsupported content or image type",
  422: "The request is well-formed but cannot be processed",
  500: "A server fault (logged; never caused by input)",
};

/** What every authenticated route can answer (src/http/middleware): keys, scopes, rates, load, deadline, shutdown. */
const ACCESS_ERRORS: ErrorCode[] = [
  "unauthorized",
  "forbidden",
  "rate_limited",
  "overloaded",
  "deadline_exceeded",
  "shutting_down",
];

/** What a route running the model can answer besides its own errors. */
export const MODEL_WORK_ERRORS: ErrorCode[] = ["worker_restarted"];

/** What reading one image body (intake) can answer. */
export const IMAGE_BODY_ERRORS: ErrorCode[] = [
  "request_timeout",
  "incomplete_body",
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

/**
 * The error responses of a route that needs a key: one per status, listing its codes and the access errors, with one
 * example per code.
 */
export function errorResponses(codes: ErrorCode[]): Partial<Record<ErrorStatus, ResponseConfig>> {
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of new Set([...codes, ...ACCESS_ERRORS, "internal_error" as const])) {
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

const LabelsSchema = z.array(z.number().int().min(0)).openapi({
  description: "One class index per image, in image order (required with options.select)",
});

/**
 * Several clean images (src/intake/read_body.ts `readImagesBody`): JSON `images` or repeated multipart `image`,
 * with optional `labels` (JSON array; multipart: a JSON-encoded `labels` field).
 */
export function imagesBodyContent(withOptions: { schema: ZodType; example: unknown }): ZodContentObject {
  return {
    "application/json": {
      schema: z.object({
        images: z.array(z.string()).openapi({ description: "Image files, each base64 or a data: URL" }),
        labels: LabelsSchema.optional(),
        options: withOptions.schema.optional(),
      }),
      example: { images: [IMAGE_BASE64_EXAMPLE], options: withOptions.example },
    },
    "multipart/form-data": {
      schema: z.object({
        image: z.array(z.string().openapi({ format: "binary" })).openapi({
          description: "One part per image, each named `image`",
        }),
        labels: LabelsSchema.optional(),
        options: withOptions.schema.optional(),
      }),
      encoding: { options: { contentType: "application/json" }, labels: { contentType: "application/json" } },
    },
  };
}
