import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { calibrate } from "../../calibration/calibrate.ts";
import { type ModelFacts, type Squeezer, SqueezerSchema } from "../../check/options.ts";
import { modelDefaultOptions } from "../../check/service.ts";
import { RequestError } from "../../errors.ts";
import { decodeImagesToPixels } from "../../intake/intake.ts";
import { readImagesBody } from "../../intake/read_body.ts";
import { type AppDeps, requireModel } from "../context.ts";
import { CALIBRATE_OPTIONS_EXAMPLE, CALIBRATION_RESULT_EXAMPLE } from "../examples.ts";
import { errorResponses, IMAGE_BODY_ERRORS, imagesBodyContent, ModelIdParam } from "../schemas.ts";

const MAX_CALIBRATION_IMAGES = 5000;

const CalibrateOptionsSchema = z.object({
  fpr: z.number().min(0).max(0.5).default(0.05),
  squeezers: z.array(SqueezerSchema).min(1).max(8).optional(),
}).strict();

const CalibrationResultSchema = z.object({
  threshold: z.number(),
  targetFpr: z.number(),
  fpr: z.number(),
  count: z.number().int(),
  squeezers: z.array(z.string()),
  calibratedAt: z.string(),
  scores: z.object({ min: z.number(), median: z.number(), max: z.number() }),
}).openapi("CalibrationResult");

const calibrateRoute = createRoute({
  method: "post",
  path: "/v1/models/{id}/calibrate",
  operationId: "calibrate",
  tags: ["calibration"],
  summary: "Calibrate the feature-squeezing threshold on clean images for a target false-positive rate",
  description: `Clean images as repeated multipart \`image\` fields or JSON {images: [base64...]} (at most ` +
    `${MAX_CALIBRATION_IMAGES}); options {fpr (default 0.05), squeezers} in the \`options\` field/key. The ` +
    "threshold is stored in the database for this model file and used by /check from then on.",
  request: {
    params: ModelIdParam,
    body: {
      content: imagesBodyContent({
        schema: CalibrateOptionsSchema.openapi("CalibrateOptions"),
        example: CALIBRATE_OPTIONS_EXAMPLE,
      }),
      required: true,
    },
  },
  responses: {
    200: {
      description: "The stored calibration",
      content: { "application/json": { schema: CalibrationResultSchema, example: CALIBRATION_RESULT_EXAMPLE } },
    },
    ...errorResponses(["unknown_model", ...IMAGE_BODY_ERRORS, "invalid_options", "limit_exceeded"]),
  },
});

export function registerCalibrateRoute(app: OpenAPIHono, deps: AppDeps): void {
  app.openAPIRegistry.registerPath(calibrateRoute);
  app.post("/v1/models/:id/calibrate", async (c) => {
    const model = await requireModel(deps.registry, c.req.param("id"), c.req.query("version"));
    const body = await readImagesBody(c.req.raw, deps.limits.maxBodyBytes);
    const parsed = CalibrateOptionsSchema.safeParse(body.options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RequestError(422, "invalid_options", `options.${issue.path.join(".")}: ${issue.message}`);
    }
    if (body.images.length === 0) throw new RequestError(422, "missing_image", "no `image` to calibrate on");
    if (body.images.length > MAX_CALIBRATION_IMAGES) {
      throw new RequestError(422, "limit_exceeded", `maxCalibrationImages: at most ${MAX_CALIBRATION_IMAGES} images`);
    }
    const squeezers = parsed.data.squeezers ?? defaultSqueezers(model);
    const images = await decodeImagesToPixels(body.images, model.manifest.input, deps);
    const result = await calibrate({
      classifier: model,
      images,
      squeezers,
      targetFpr: parsed.data.fpr,
      store: deps.calibrations,
    });
    return c.json(result);
  });
}

function defaultSqueezers(model: ModelFacts): Squeezer[] {
  const squeeze = modelDefaultOptions(model).squeeze;
  if (!squeeze) {
    throw new RequestError(422, "invalid_options", "squeezing is off for this model; pass options.squeezers");
  }
  return squeeze.squeezers;
}
