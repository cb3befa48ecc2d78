import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { CalibrationStore } from "../../calibration/store.ts";
import { defaultSqueezeThreshold } from "../../check/service.ts";
import type { OnnxClassifier } from "../../runtime/onnx_classifier.ts";
import { type AppDeps, requireModel } from "../context.ts";
import { errorResponses, ModelIdParam, ModelInfoSchema } from "../schemas.ts";

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
  request: { params: ModelIdParam },
  responses: {
    200: { description: "The model", content: { "application/json": { schema: ModelInfoSchema } } },
    ...errorResponses(["unknown_model"]),
  },
});

export async function describeModel(
  model: OnnxClassifier,
  calibrations: CalibrationStore,
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
  };
}

export function registerModelRoutes(app: OpenAPIHono, deps: AppDeps): void {
  app.openapi(listRoute, async (c) => {
    const models = await Promise.all(deps.registry.list().map((m) => describeModel(m, deps.calibrations)));
    return c.json({ models }, 200);
  });
  app.openapi(getRoute, async (c) => {
    const model = requireModel(deps.registry, c.req.valid("param").id);
    return c.json(await describeModel(model, deps.calibrations), 200);
  });
}
