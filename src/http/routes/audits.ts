import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { AuditReportSchema, auditRowsCsv, renderReportHtml } from "../../audit/mod.ts";
import { type DatasetInput, DEFAULT_DATASET_LIMITS } from "../../dataset/mod.ts";
import { RequestError } from "../../errors.ts";
import { type BodyReadOptions, readLimited } from "../../intake/read_body.ts";
import type { AuditService, AuditView } from "../../jobs/audits.ts";
import { type AppDeps, parseVersion } from "../context.ts";
import { errorResponses } from "../schemas.ts";

const AuditIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "5b0f7c1e-8a7e-4a43-9d0a-3f1f6f0c2a11" }),
});

const Counts = z.object({ done: z.number().int(), total: z.number().int() });
const AuditViewSchema = z.object({
  id: z.string(),
  status: z.enum(["queued", "running", "done", "failed", "cancelled"]),
  model: z.object({ id: z.string(), version: z.number().int().nullable(), sha256: z.string() }),
  dataset: z.object({ sha256: z.string(), images: z.number().int() }),
  seed: z.number().int(),
  progress: z.object({
    images: Counts,
    shards: Counts,
    stagesMs: z.record(z.string(), z.number()).openapi({ description: "per stage, summed over finished shards" }),
    compute: z.record(z.string(), z.number()).openapi({ description: "forward-pass equivalents per stage" }),
  }),
  throughput: z.number().nullable().openapi({ description: "images per second since the first shard started" }),
  etaSeconds: z.number().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  links: z.object({ self: z.string(), events: z.string(), report: z.string(), html: z.string(), csv: z.string() }),
}).openapi("Audit");

/** Plain zod (src/audit), documented through a clone made after @hono/zod-openapi extended zod. */
const AuditReportDoc = AuditReportSchema.clone().openapi("AuditReport", {
  description: "Versioned (`schema`, `version`): docs/AUDITS.md defines every field",
});

const AUDIT_EXAMPLE = {
  model: "fashion-cnn",
  dataset: { builtin: "fashion-mnist-sample" },
  seed: 7,
  plan: { subsample: { size: 24 }, attacks: [{ kind: "fgsm", eps: [0.05, 0.1] }] },
};

const DATASET_ERRORS = [
  "invalid_json",
  "invalid_multipart",
  "payload_too_large",
  "dataset_too_large",
  "image_too_large",
  "unsupported_media_type",
  "unsupported_archive",
  "invalid_dataset",
  "unknown_dataset",
] as const;

const createAuditRoute = createRoute({
  method: "post",
  path: "/v1/audits",
  operationId: "createAudit",
  tags: ["audits"],
  summary: "Start a dataset audit (a durable background job); 202 with its id and links",
  description: "JSON `{model, version?, dataset, plan?, seed?}` where `dataset` is `{builtin: name}` or a list of " +
    "`{image (base64), label (index or name)}`; or multipart with `model`, `version`, `plan` (JSON), `seed` and a " +
    "`dataset` file (zip, tar, tar.gz); or the raw archive (application/zip, application/x-tar, application/gzip) " +
    "with `model`, `version`, `plan` (URL-encoded JSON) and `seed` in the query. Model, dataset limits and plan " +
    "limits are checked before any work. Needs the `write` scope (with no API keys: a loopback client).",
  request: {
    query: z.object({
      model: z.string().optional().openapi({ description: "Model id (raw archive bodies)" }),
      version: z.string().optional(),
      plan: z.string().optional().openapi({ description: "Plan as URL-encoded JSON (raw archive bodies)" }),
      seed: z.string().optional(),
    }),
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z.object({
            model: z.string(),
            version: z.number().int().optional(),
            dataset: z.union([
              z.object({ builtin: z.string() }),
              z.array(z.object({ image: z.string(), label: z.union([z.number().int(), z.string()]) })),
            ]),
            plan: z.record(z.string(), z.unknown()).optional().openapi({ description: "docs/AUDITS.md, The plan" }),
            seed: z.number().int().optional(),
          }),
          example: AUDIT_EXAMPLE,
        },
        "multipart/form-data": {
          schema: z.object({
            model: z.string(),
            version: z.string().optional(),
            plan: z.string().optional().openapi({ description: "JSON" }),
            seed: z.string().optional(),
            dataset: z.string().openapi({ format: "binary", description: "zip, tar or tar.gz" }),
          }),
        },
        "application/zip": { schema: z.string().openapi({ format: "binary" }) },
        "application/x-tar": { schema: z.string().openapi({ format: "binary" }) },
        "application/gzip": { schema: z.string().openapi({ format: "binary" }) },
      },
    },
  },
  responses: {
    202: { description: "Queued", content: { "application/json": { schema: AuditViewSchema } } },
    ...errorResponses([
      ...DATASET_ERRORS,
      "request_timeout",
      "incomplete_body",
      "unknown_model",
      "invalid_query",
      "invalid_request",
      "invalid_plan",
      "limit_exceeded",
      "audits_unavailable",
    ]),
  },
});

const listAuditsRoute = createRoute({
  method: "get",
  path: "/v1/audits",
  operationId: "listAudits",
  tags: ["audits"],
  summary: "The latest audits, newest first",
  responses: {
    200: {
      description: "Audits",
      content: { "application/json": { schema: z.object({ audits: z.array(AuditViewSchema) }) } },
    },
    ...errorResponses(["audits_unavailable"]),
  },
});

const getAuditRoute = createRoute({
  method: "get",
  path: "/v1/audits/{id}",
  operationId: "getAudit",
  tags: ["audits"],
  summary: "Status, progress per stage, throughput, ETA and errors (all derived from the stored shard rows)",
  request: { params: AuditIdParam },
  responses: {
    200: { description: "The audit", content: { "application/json": { schema: AuditViewSchema } } },
    ...errorResponses(["unknown_audit", "audits_unavailable"]),
  },
});

const cancelAuditRoute = createRoute({
  method: "delete",
  path: "/v1/audits/{id}",
  operationId: "cancelAudit",
  tags: ["audits"],
  summary: "Cancel: queued shards are skipped, running shards stop at their next batch boundary",
  request: { params: AuditIdParam },
  responses: {
    200: { description: "The audit, cancelled", content: { "application/json": { schema: AuditViewSchema } } },
    ...errorResponses(["unknown_audit", "audits_unavailable"]),
  },
});

const eventsRoute = createRoute({
  method: "get",
  path: "/v1/audits/{id}/events",
  operationId: "auditEvents",
  tags: ["audits"],
  summary: "Server-Sent Events: `progress` with the audit (as GET) whenever it changes, then `end`",
  request: { params: AuditIdParam },
  responses: {
    200: {
      description: "An event stream; each `data:` is an Audit as JSON",
      content: { "text/event-stream": { schema: z.string() } },
    },
    ...errorResponses(["unknown_audit", "audits_unavailable"]),
  },
});

const reportErrors = errorResponses(["unknown_audit", "report_not_ready", "audits_unavailable"]);

const reportRoute = createRoute({
  method: "get",
  path: "/v1/audits/{id}/report",
  operationId: "getAuditReport",
  tags: ["audits"],
  summary: "The report (JSON, versioned schema) of a finished audit",
  request: { params: AuditIdParam },
  responses: {
    200: { description: "The report", content: { "application/json": { schema: AuditReportDoc } } },
    ...reportErrors,
  },
});

const reportHtmlRoute = createRoute({
  method: "get",
  path: "/v1/audits/{id}/report.html",
  operationId: "getAuditReportHtml",
  tags: ["audits"],
  summary: "The report as one self-contained HTML file (inline SVG, no scripts)",
  request: { params: AuditIdParam },
  responses: {
    200: { description: "HTML", content: { "text/html": { schema: z.string() } } },
    ...reportErrors,
  },
});

const rowsCsvRoute = createRoute({
  method: "get",
  path: "/v1/audits/{id}/rows.csv",
  operationId: "getAuditRowsCsv",
  tags: ["audits"],
  summary: "One CSV row per image and probe",
  request: { params: AuditIdParam },
  responses: {
    200: { description: "CSV", content: { "text/csv": { schema: z.string() } } },
    ...reportErrors,
  },
});

const TERMINAL = new Set(["done", "failed", "cancelled"]);
/** SSE re-reads on every audit notification and at least this often. */
const EVENTS_POLL_MS = 2000;

export function registerAuditRoutes(app: OpenAPIHono, deps: AppDeps): void {
  const service = (): AuditService => {
    if (!deps.audits) throw new RequestError(503, "audits_unavailable", "this server runs without audits");
    return deps.audits;
  };
  // One database listener per process, fanned out to the open event streams.
  const listeners = new Set<() => void>();
  let watching: Promise<void> | undefined;
  const subscribe = (listener: () => void) => {
    watching ??= service().watch(() => listeners.forEach((l) => l()));
    listeners.add(listener);
    return () => listeners.delete(listener);
  };

  app.openAPIRegistry.registerPath(createAuditRoute);
  app.post("/v1/audits", async (c) => {
    const audits = service();
    const input = await readAuditRequest(c.req.raw, new URL(c.req.url).searchParams, {
      timeoutMs: deps.limits.bodyTimeoutMs,
      signal: c.get("requestSignal"),
    });
    // Creating reads the model and the dataset and queues the shards: model work, admitted once the body is in.
    await c.get("admit")();
    const view = await audits.create(input);
    return c.json(view, 202);
  });

  app.openapi(listAuditsRoute, async (c) => c.json({ audits: await service().list() }, 200));
  app.openapi(getAuditRoute, async (c) => c.json(await service().get(c.req.valid("param").id), 200));
  app.openapi(cancelAuditRoute, async (c) => c.json(await service().cancel(c.req.valid("param").id), 200));

  app.openAPIRegistry.registerPath(eventsRoute);
  app.get("/v1/audits/:id/events", async (c) => {
    const audits = service();
    const id = c.req.param("id");
    let last = await audits.get(id);
    return streamSSE(c, async (stream) => {
      let wake: () => void = () => {};
      const unsubscribe = subscribe(() => wake());
      // The client going away aborts the request's own signal; the stream's abort covers writes that fail.
      const gone = c.req.raw.signal;
      const onGone = () => wake();
      gone.addEventListener("abort", onGone);
      stream.onAbort(() => wake());
      try {
        let sent = "";
        while (!stream.aborted && !gone.aborted) {
          const data = JSON.stringify(last);
          if (data !== sent) {
            await stream.writeSSE({ event: "progress", data });
            sent = data;
          }
          if (TERMINAL.has(last.status)) {
            await stream.writeSSE({ event: "end", data: JSON.stringify({ status: last.status }) });
            break;
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, EVENTS_POLL_MS);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          last = await audits.get(id);
        }
      } finally {
        gone.removeEventListener("abort", onGone);
        unsubscribe();
      }
    });
  });

  app.openapi(reportRoute, async (c) => {
    const { report } = await service().report(c.req.valid("param").id);
    return c.json(report as z.infer<typeof AuditReportDoc>, 200);
  });
  app.openapi(reportHtmlRoute, async (c) => {
    const { report } = await service().report(c.req.valid("param").id);
    return c.html(await renderReportHtml(report), 200);
  });
  app.openapi(rowsCsvRoute, async (c) => {
    const { shards, labels } = await service().report(c.req.valid("param").id);
    return c.body(auditRowsCsv(shards, labels), 200, { "content-type": "text/csv; charset=utf-8" });
  });
}

type AuditRequest = Parameters<AuditService["create"]>[0];

/** The body of POST /v1/audits in any of its forms → what the service needs (4xx on anything malformed). */
async function readAuditRequest(
  request: Request,
  query: URLSearchParams,
  options: BodyReadOptions,
): Promise<AuditRequest> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const max = DEFAULT_DATASET_LIMITS.maxArchiveBytes;
  if (type === "application/json") {
    const bytes = await readLimited(request, max, options);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch (error) {
      throw new RequestError(400, "invalid_json", `request body is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof body !== "object" || body === null || typeof body.model !== "string") {
      throw new RequestError(422, "invalid_request", "model: a model id (string) is required");
    }
    const dataset = body.dataset;
    let input: DatasetInput;
    let datasetBytes: Uint8Array | null = null;
    if (Array.isArray(dataset)) {
      input = { kind: "json", value: dataset };
      datasetBytes = new TextEncoder().encode(JSON.stringify(dataset));
    } else if (
      dataset && typeof dataset === "object" && typeof (dataset as { builtin?: unknown }).builtin === "string"
    ) {
      input = { kind: "builtin", name: (dataset as { builtin: string }).builtin };
    } else {
      throw new RequestError(422, "invalid_request", "dataset: {builtin: name} or a list of {image, label}");
    }
    const version = body.version === undefined ? undefined : parseVersion(String(body.version));
    return { modelId: body.model, version, dataset: input, datasetBytes, plan: withSeed(body.plan, body.seed) };
  }
  if (type === "multipart/form-data") {
    const bytes = await readLimited(request, max + (1 << 20), options);
    let form: FormData;
    try {
      form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: request.headers }).formData();
    } catch {
      throw new RequestError(400, "invalid_multipart", "the multipart body could not be parsed");
    }
    const file = form.get("dataset");
    const model = form.get("model");
    if (typeof model !== "string") throw new RequestError(422, "invalid_request", "model: a form field is required");
    if (!(file instanceof File)) throw new RequestError(422, "invalid_request", "dataset: a file field is required");
    const archive = new Uint8Array(await file.arrayBuffer());
    return {
      modelId: model,
      version: parseVersion(stringField(form.get("version"))),
      dataset: { kind: "archive", bytes: archive },
      datasetBytes: archive,
      plan: withSeed(parseJsonField("plan", stringField(form.get("plan"))), numberField(stringField(form.get("seed")))),
    };
  }
  if (["application/zip", "application/x-tar", "application/gzip", "application/octet-stream"].includes(type)) {
    const archive = await readLimited(request, max, options);
    const model = query.get("model");
    if (!model) throw new RequestError(422, "invalid_query", "model: the query names the model for raw archives");
    return {
      modelId: model,
      version: parseVersion(query.get("version") ?? undefined),
      dataset: { kind: "archive", bytes: archive },
      datasetBytes: archive,
      plan: withSeed(
        parseJsonField("plan", query.get("plan") ?? undefined),
        numberField(query.get("seed") ?? undefined),
      ),
    };
  }
  throw new RequestError(
    415,
    "unsupported_media_type",
    `Content-Type ${type || "(none)"} is not accepted; send application/json, multipart/form-data or an archive`,
  );
}

function stringField(v: FormDataEntryValue | null): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function numberField(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v)) throw new RequestError(422, "invalid_query", `seed: expected an integer, got "${v}"`);
  return Number(v);
}

function parseJsonField(name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new RequestError(400, "invalid_json", `${name} is not valid JSON: ${(error as Error).message}`);
  }
}

/** The request's top-level `seed` is the plan's seed unless the plan gives one. */
function withSeed(plan: unknown, seed: unknown): unknown {
  if (seed === undefined) return plan ?? {};
  if (plan !== undefined && (typeof plan !== "object" || plan === null || Array.isArray(plan))) return plan;
  return { seed, ...(plan as Record<string, unknown> | undefined) };
}

export type { AuditView };
