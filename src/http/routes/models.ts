import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { CalibrationStore } from "../../calibration/store.ts";
import { defaultSqueezeThreshold } from "../../check/service.ts";
import type { ModelSummary } from "../../registry/registry.ts";
import { type AppDeps, parseVersion, unknownModel } from "../context.ts";
import { errorResponses, ModelIdParam, ModelInfoSchema, VersionQuery } from "../schemas.ts";

const listRoute = createRoute({
  method: "get",
  path: "/v1/models",
  operationId: "listModels",
  tags: ["models"],
  summary: "List the loaded models",
  responses: {
    200: {
      description: "Models",
      content: { "application/json": { schema: z.object({ models: z.array(ModelInfoSchema) }) } },
    },
    ...errorResponses([]),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/v1/models/{id}",
  operationId: "getModel",
  tags: ["models"],
  summary: "One model: labels, input spec, sha256, backend, gradient mode, squeeze threshold",
  description: "The current version of an uploaded model unless `version` selects another; `versions` lists them.",
  request: { params: ModelIdParam, query: VersionQuery },
  responses: {
    200: { description: "The model", content: { "application/json": { schema: ModelInfoSchema } } },
    ...errorResponses(["unknown_model"]),
  },
});

export async function describeModel(
  model: ModelSummary,
  calibrations: CalibrationStore,
  versions: number[] = [],
): Promise<z.infer<typeof ModelInfoSchema>> {
  const { manifest } = model;
  const calibration = await calibrations.get(manifest.id, model.sha256);
  // The same rule /check applies with default options (calibration only for the same squeezers).
  const threshold = await defaultSqueezeThreshold(model, calibrations);
  return {
    id: manifest.id,
    description: manifest.description,
    labels: manifest.labels,
    input: manifest.input,
    output: manifest.output,
    sha256: model.sha256,
    backend: model.backend,
    maxBatch: model.maxBatch,
    gradient: { ...model.gradientInfo, buildMs: { ...model.gradientInfo.buildMs } },
    squeeze: {
      threshold: threshold.value,
      source: threshold.source,
      calibration: calibration
        ? {
          threshold: calibration.threshold,
          fpr: calibration.fpr,
          count: calibration.count,
          calibratedAt: calibration.calibratedAt,
        }
        : null,
    },
    provenance: manifest.provenance,
    source: model.source,
    version: model.version,
    versions,
  };
}

export function registerModelRoutes(app: OpenAPIHono, deps: AppDeps): void {
  app.openapi(listRoute, async (c) => {
    const versionsOf = (m: ModelSummary) =>
      m.source === "upload" ? (deps.registry.uploads?.versions(m.manifest.id) ?? []).map((v) => v.version!) : [];
    const models = await Promise.all(
      deps.registry.list().map((m) => describeModel(m, deps.calibrations, versionsOf(m))),
    );
    return c.json({ models }, 200);
  });
  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid("param");
    const version = parseVersion(c.req.valid("query").version);
    const versions = await deps.registry.versions(id);
    const model = version === undefined ? versions.at(-1) : versions.find((v) => v.version === version);
    if (!model) throw unknownModel(id, version);
    const numbers = versions.flatMap((v) => v.version === null ? [] : [v.version]);
    return c.json(await describeModel(model, deps.calibrations, numbers), 200);
  });
}
