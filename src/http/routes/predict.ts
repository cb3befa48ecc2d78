import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { RequestError } from "../../errors.ts";
import { intakeImage } from "../../intake/intake.ts";
import { predict } from "../../predict/predict.ts";
import { type AppDeps, requireModel } from "../context.ts";
import { PREDICT_RESPONSE_EXAMPLE } from "../examples.ts";
import {
  errorResponses,
  IMAGE_BODY_ERRORS,
  imageBodyContent,
  ModelIdParam,
  PredictResponseSchema,
} from "../schemas.ts";

const QuerySchema = z.object({
  topK: z.coerce.number().int().min(1).max(1000).default(5).openapi({
    param: { name: "topK", in: "query" },
    description: "How many ranked labels to return (capped at the number of classes).",
  }),
});

const predictRoute = createRoute({
  method: "post",
  path: "/v1/models/{id}/predict",
  operationId: "predict",
  tags: ["images"],
  summary: "Classify one image",
  description: "The image is JSON `{image: base64}`, multipart field `image`, or the raw body (image/png, image/jpeg).",
  request: { params: ModelIdParam, query: QuerySchema, body: { content: imageBodyContent(), required: true } },
  responses: {
    200: {
      description: "Prediction",
      content: { "application/json": { schema: PredictResponseSchema, example: PREDICT_RESPONSE_EXAMPLE } },
    },
    ...errorResponses(["unknown_model", "invalid_query", ...IMAGE_BODY_ERRORS]),
  },
});

export function registerPredictRoute(app: OpenAPIHono, deps: AppDeps): void {
  // Documented here, validated by hand: the body comes in three forms the generic validator cannot read.
  app.openAPIRegistry.registerPath(predictRoute);
  app.post("/v1/models/:id/predict", async (c) => {
    const start = performance.now();
    const model = await requireModel(deps.registry, c.req.param("id"), c.req.query("version"));
    const query = QuerySchema.safeParse({ topK: c.req.query("topK") });
    if (!query.success) throw new RequestError(422, "invalid_query", `topK: ${query.error.issues[0].message}`);
    const image = await intakeImage(c.req.raw, model.manifest.input, deps);
    const inferenceStart = performance.now();
    const prediction = await predict(model, image.pixels, query.data.topK);
    const inferenceMs = performance.now() - inferenceStart;
    return c.json({
      model: { id: model.manifest.id, sha256: model.sha256 },
      prediction,
      image: image.source,
      backend: model.backend,
      timings: { decodeMs: image.decodeMs, inferenceMs, totalMs: performance.now() - start },
    });
  });
}
