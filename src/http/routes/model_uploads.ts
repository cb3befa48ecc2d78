import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { RequestError } from "../../errors.ts";
import { ManifestError, parseManifest } from "../../registry/load_manifest.ts";
import { sha256Hex } from "../../registry/registry.ts";
import type { UploadedModels } from "../../registry/uploaded.ts";
import type { BodyReadOptions } from "../../intake/read_body.ts";
import { type AppDeps, parseVersion } from "../context.ts";
import { errorResponses, GradientInfoSchema, ModelIdParam, ModelInfoSchema, VersionQuery } from "../schemas.ts";
import { describeModel } from "./models.ts";

const ValueSpecSchema = z.object({
  name: z.string(),
  dims: z.array(z.union([z.number().int(), z.string()])),
  elemType: z.number().int().openapi({ description: "ONNX TensorProto.DataType (1 = float32)" }),
});

export const UploadInspectionSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  sha256: z.string(),
  bytes: z.number().int(),
  opset: z.number().int(),
  irVersion: z.number().int(),
  producer: z.string(),
  ops: z.record(z.string(), z.number().int()).openapi({ description: "op type → node count" }),
  inputs: z.array(ValueSpecSchema),
  outputs: z.array(ValueSpecSchema),
  unsupported: z.array(z.string()).openapi({ description: "Ops on the pixel path without a gradient rule" }),
  maxBatch: z.number().int(),
  forward: z.object({
    finite: z.literal(true),
    logits: z.array(z.number()).openapi({ description: "Outputs for an all-zero image" }),
    ms: z.number(),
  }),
  gradient: GradientInfoSchema.extend({
    check: z.object({
      mode: z.literal("exact"),
      maxRelError: z.number(),
      ok: z.boolean(),
      logitsMaxAbsDiff: z.number(),
      buildMs: z.number(),
      spsaCosine: z.number().nullable(),
    }).nullable().openapi({ description: "Numerical gradient check (null when the model uses SPSA)" }),
  }),
  validatedAt: z.string(),
  validationMs: z.number(),
}).openapi("ModelInspection");

const MANIFEST_HEADER = "x-robustcheck-manifest";

const uploadRoute = createRoute({
  method: "post",
  path: "/v1/models",
  operationId: "uploadModel",
  tags: ["models"],
  summary: "Upload a model (a new id, or a new version of an uploaded one)",
  description: "Multipart with `model` (the .onnx file) and `manifest` (JSON, as a field or a file), or the raw " +
    `ONNX bytes (application/octet-stream) with the manifest as URL-encoded JSON in the \`manifest\` query ` +
    `parameter or the \`${MANIFEST_HEADER}\` header. The model is validated (ONNX decodes, opset, manifest vs ` +
    "graph, a finite forward pass, the gradient graph or SPSA, a numerical gradient check) before it becomes " +
    "visible. Needs the `write` scope (without API keys: loopback clients only). At most ROBUSTCHECK_MAX_MODEL_BYTES.",
  request: {
    query: z.object({ manifest: z.string().optional().openapi({ description: "URL-encoded manifest JSON" }) }),
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: z.object({
            model: z.string().openapi({ format: "binary" }),
            manifest: z.string().openapi({ description: "manifest.json (see README)" }),
          }),
        },
        "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) },
      },
    },
  },
  responses: {
    201: {
      description: "Stored and visible",
      content: {
        "application/json": { schema: z.object({ model: ModelInfoSchema, inspection: UploadInspectionSchema }) },
      },
    },
    ...errorResponses([
      "invalid_body",
      "invalid_multipart",
      "request_timeout",
      "read_only_model",
      "label_set_conflict",
      "model_too_large",
      "unsupported_media_type",
      "missing_model",
      "missing_manifest",
      "invalid_manifest",
      "invalid_onnx",
      "unsupported_opset",
      "invalid_model",
      "manifest_mismatch",
      "invalid_output",
      "non_finite_output",
      "gradient_check_failed",
      "uploads_unavailable",
    ]),
  },
});

const inspectRoute = createRoute({
  method: "get",
  path: "/v1/models/{id}/inspect",
  operationId: "inspectModel",
  tags: ["models"],
  summary: "The validation report stored when an uploaded model version was accepted",
  request: { params: ModelIdParam, query: VersionQuery },
  responses: {
    200: { description: "The report", content: { "application/json": { schema: UploadInspectionSchema } } },
    ...errorResponses(["unknown_model", "invalid_query"]),
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/v1/models/{id}",
  operationId: "deleteModelVersion",
  tags: ["models"],
  summary: "Delete one version of an uploaded model (its bytes go once nothing references them)",
  request: {
    params: ModelIdParam,
    query: z.object({
      version: z.string().openapi({ param: { name: "version", in: "query" }, description: "The version to delete" }),
    }),
  },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(["unknown_model", "read_only_model", "model_in_use", "invalid_query", "uploads_unavailable"]),
  },
});

export function registerModelUploadRoutes(app: OpenAPIHono, deps: AppDeps): void {
  // Documented here, read by hand: the body is streamed against the size limit.
  app.openAPIRegistry.registerPath(uploadRoute);
  app.post("/v1/models", async (c) => {
    const uploads = requireUploads(deps.registry.uploads);
    const { manifestText, modelBytes } = await readUpload(c.req.raw, deps.maxModelBytes, {
      timeoutMs: deps.limits.bodyTimeoutMs,
      signal: c.get("requestSignal"),
    });
    let manifest;
    try {
      manifest = parseManifest(manifestText, "manifest");
    } catch (error) {
      if (error instanceof ManifestError) throw new RequestError(422, "invalid_manifest", error.message);
      throw error;
    }
    // Validation runs the model (forward pass, gradient check): it is model work, admitted once the body is in.
    await c.get("admit")();
    const { summary, inspection } = await uploads.add({
      manifest,
      modelBytes,
      sha256: await sha256Hex(modelBytes),
      signal: c.get("requestSignal"),
    });
    const versions = uploads.versions(manifest.id).map((v) => v.version!);
    return c.json({ model: await describeModel(summary, deps.calibrations, versions), inspection }, 201);
  });

  app.openapi(inspectRoute, async (c) => {
    const { id } = c.req.valid("param");
    const version = parseVersion(c.req.valid("query").version);
    const inspection = await deps.registry.uploads?.inspection(id, version);
    if (!inspection) {
      const seed = (await deps.registry.versions(id)).some((v) => v.source === "seed");
      throw new RequestError(
        404,
        "unknown_model",
        seed
          ? `model "${id}" is a seed from the models directory: it has no upload report (run \`deno task cli inspect\`)`
          : `no uploaded model with id "${id}"${version ? ` and version ${version}` : ""}`,
      );
    }
    return c.json(inspection as z.infer<typeof UploadInspectionSchema>, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid("param");
    const version = parseVersion(c.req.valid("query").version)!;
    await requireUploads(deps.registry.uploads).remove(id, version);
    return c.body(null, 204);
  });
}

function requireUploads(uploads: UploadedModels | undefined): UploadedModels {
  if (!uploads) throw new RequestError(503, "uploads_unavailable", "this server has no model database");
  return uploads;
}

/**
 * Reads the model bytes and manifest text, counting bytes as they arrive so an oversized upload
 * is refused without buffering it (the multipart allowance adds 1 MiB for the manifest and framing).
 */
async function readUpload(
  request: Request,
  maxModelBytes: number,
  options: BodyReadOptions,
): Promise<{ manifestText: string; modelBytes: Uint8Array }> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const multipart = type === "multipart/form-data";
  if (!multipart && type !== "application/octet-stream") {
    throw new RequestError(
      415,
      "unsupported_media_type",
      "send multipart/form-data (model, manifest) or application/octet-stream (manifest in the query or header)",
    );
  }
  const allowance = multipart ? maxModelBytes + (1 << 20) : maxModelBytes;
  const tooLarge = () =>
    new RequestError(413, "model_too_large", `model: larger than ROBUSTCHECK_MAX_MODEL_BYTES (${maxModelBytes} bytes)`);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > allowance) throw tooLarge();
  let received = 0;
  let exceeded = false;
  // A body that has not arrived within the body timeout, or a cancelled request, aborts the pipe (and the body).
  const stop = new AbortController();
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(
    () =>
      stop.abort(
        new RequestError(408, "request_timeout", `the request body did not arrive within ${options.timeoutMs} ms`),
      ),
    options.timeoutMs,
  );
  const onAbort = () => stop.abort(options.signal!.reason);
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const counted = (request.body ?? new ReadableStream()).pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        received += chunk.length;
        if (received > allowance) {
          exceeded = true;
          controller.error(tooLarge());
        } else controller.enqueue(chunk);
      },
    }),
    { signal: stop.signal },
  );
  const limited = new Response(counted, { headers: { "content-type": request.headers.get("content-type")! } });
  try {
    if (!multipart) {
      const modelBytes = new Uint8Array(await limited.arrayBuffer());
      const url = new URL(request.url);
      const manifestText = url.searchParams.get("manifest") ?? request.headers.get(MANIFEST_HEADER);
      if (manifestText === null) {
        throw new RequestError(
          422,
          "missing_manifest",
          `manifest: pass it in the \`manifest\` query or ${MANIFEST_HEADER}`,
        );
      }
      return { manifestText, modelBytes: checkModelSize(modelBytes, maxModelBytes, tooLarge) };
    }
    const form = await limited.formData();
    const model = form.get("model");
    const manifest = form.get("manifest");
    if (!(model instanceof File)) {
      throw new RequestError(422, "missing_model", "model: a multipart file field is required");
    }
    if (manifest === null) throw new RequestError(422, "missing_manifest", "manifest: a multipart field is required");
    const manifestText = typeof manifest === "string" ? manifest : await manifest.text();
    const modelBytes = new Uint8Array(await model.arrayBuffer());
    return { manifestText, modelBytes: checkModelSize(modelBytes, maxModelBytes, tooLarge) };
  } catch (error) {
    if (exceeded) throw tooLarge();
    if (stop.signal.aborted) throw stop.signal.reason;
    if (error instanceof RequestError) throw error;
    throw new RequestError(400, "invalid_body", `the upload could not be read (${(error as Error).message})`);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function checkModelSize(bytes: Uint8Array, max: number, tooLarge: () => RequestError): Uint8Array {
  if (bytes.length > max) throw tooLarge();
  if (bytes.length === 0) throw new RequestError(422, "invalid_onnx", "model: the file is empty");
  return bytes;
}
