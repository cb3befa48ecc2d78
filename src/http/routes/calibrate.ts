import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { calibrate } from "../../calibration/calibrate.ts";
import { MAX_CANDIDATES } from "../../calibration/select.ts";
import {
  calibrateWithSelection,
  calibrationDataSha256,
  defaultCandidates,
} from "../../calibration/squeezer_selection.ts";
import { type ModelFacts, type Squeezer, SqueezerSchema } from "../../check/options.ts";
import { modelDefaultOptions } from "../../check/service.ts";
import { RequestError } from "../../errors.ts";
import { decodeImagesToPixels } from "../../intake/intake.ts";
import { readImagesBody } from "../../intake/read_body.ts";
import { type AppDeps, requireModel } from "../context.ts";
import { CALIBRATE_OPTIONS_EXAMPLE, CALIBRATION_RESULT_EXAMPLE } from "../examples.ts";
import {
  errorResponses,
  IMAGE_BODY_ERRORS,
  imagesBodyContent,
  MODEL_WORK_ERRORS,
  ModelIdParam,
  SelectionReportSchema,
  VersionQuery,
} from "../schemas.ts";

const MAX_CALIBRATION_IMAGES = 5000;
/** Selection attacks every image (FGSM + PGD) and squeezes it three times with every candidate. */
const MAX_SELECTION_IMAGES = 2000;
/** Half of them choose, half measure: fewer than 10 per half says nothing at a 5% FPR. */
const MIN_SELECTION_IMAGES = 20;

const CalibrateOptionsSchema = z.object({
  fpr: z.number().gt(0).max(0.5).default(0.05),
  squeezers: z.array(SqueezerSchema).min(1).max(8).optional().openapi({
    description: "Without `select`: the squeezers to calibrate (default: the model's)",
  }),
  select: z.boolean().default(false).openapi({
    description: "Choose the squeezer set from data (needs `labels`): see README, Squeezer selection",
  }),
  candidates: z.array(SqueezerSchema).min(1).max(MAX_CANDIDATES).optional().openapi({
    description: "With `select`: squeezers to choose sets of at most 3 from (default: bit depths 1–7, median 2 " +
      "and 3, and for colour models non-local means 11-3-4 and 13-3-2)",
  }),
  seed: z.number().int().min(0).max(0xffffffff).default(0).openapi({
    description: "With `select`: seeds the selection/held-out split (and PGD's random start, if any)",
  }),
}).strict().refine((o) => !(o.select && o.squeezers), {
  message: "with select, pass candidates instead of squeezers",
  path: ["squeezers"],
}).refine((o) => o.select || !o.candidates, { message: "candidates need select: true", path: ["candidates"] });

const CalibrationResultSchema = z.object({
  threshold: z.number(),
  targetFpr: z.number(),
  fpr: z.number(),
  count: z.number().int(),
  squeezers: z.array(z.string()),
  calibratedAt: z.string(),
  scores: z.object({ min: z.number(), median: z.number(), max: z.number() }).optional().openapi({
    description: "Without select: the clean joint scores' spread",
  }),
  selection: SelectionReportSchema.optional(),
}).openapi("CalibrationResult");

const calibrateRoute = createRoute({
  method: "post",
  path: "/v1/models/{id}/calibrate",
  operationId: "calibrate",
  tags: ["calibration"],
  summary: "Calibrate the feature-squeezing threshold on clean images for a target false-positive rate",
  description: `Clean images as repeated multipart \`image\` fields or JSON {images: [base64...]} (at most ` +
    `${MAX_CALIBRATION_IMAGES}); options {fpr in (0, 0.5] (default 0.05), squeezers} in the \`options\` ` +
    "field/key. The threshold is stored in the database for this model file and used by /check from then on. " +
    `With \`select: true\` and one label per image (\`labels\`, ${MIN_SELECTION_IMAGES}–${MAX_SELECTION_IMAGES} ` +
    "images of at least two classes) the squeezer set is chosen too: the images are split by `seed` into a " +
    "selection half and a held-out half, attacked with FGSM and PGD at the model's default budget, the set with " +
    "the highest detection rate at the target FPR on the selection half wins, and the report gives every " +
    "candidate's figures and the winner's on the held-out half. /check then uses that set when a request names " +
    "no squeezers. The response is synchronous (minutes for a thousand images); one selection runs at a time.",
  request: {
    params: ModelIdParam,
    query: VersionQuery,
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
    ...errorResponses([
      "unknown_model",
      ...IMAGE_BODY_ERRORS,
      ...MODEL_WORK_ERRORS,
      "invalid_options",
      "limit_exceeded",
      "invalid_labels",
      "too_few_images",
    ]),
  },
});

export function registerCalibrateRoute(app: OpenAPIHono, deps: AppDeps): void {
  app.openAPIRegistry.registerPath(calibrateRoute);
  // Selections queue behind each other: each already keeps the session Workers busy.
  let queue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work);
    queue = run.catch(() => {});
    return run;
  };
  app.post("/v1/models/:id/calibrate", async (c) => {
    const model = await requireModel(deps.registry, c.req.param("id"), c.req.query("version"));
    const signal = c.get("requestSignal");
    const body = await readImagesBody(c.req.raw, deps.limits.maxBodyBytes, {
      timeoutMs: deps.limits.bodyTimeoutMs,
      signal,
    });
    const parsed = CalibrateOptionsSchema.safeParse(body.options ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new RequestError(422, "invalid_options", `options.${issue.path.join(".")}: ${issue.message}`);
    }
    if (body.images.length === 0) throw new RequestError(422, "missing_image", "no `image` to calibrate on");
    if (body.images.length > MAX_CALIBRATION_IMAGES) {
      throw new RequestError(422, "limit_exceeded", `maxCalibrationImages: at most ${MAX_CALIBRATION_IMAGES} images`);
    }
    if (parsed.data.select) {
      if (body.images.length > MAX_SELECTION_IMAGES) {
        throw new RequestError(
          422,
          "limit_exceeded",
          `maxSelectionImages: squeezer selection takes at most ${MAX_SELECTION_IMAGES} images`,
        );
      }
      if (body.images.length < MIN_SELECTION_IMAGES) {
        throw new RequestError(
          422,
          "too_few_images",
          `squeezer selection needs at least ${MIN_SELECTION_IMAGES} images (half select, half measure); ` +
            `got ${body.images.length}`,
        );
      }
      const labels = validLabels(body.labels, body.images.length, model.manifest.labels.length);
      const images = await decodeImagesToPixels(body.images, model.manifest.input, deps, signal);
      const dataSha256 = await calibrationDataSha256(body.images, labels);
      await c.get("admit")();
      const result = await oneAtATime(() =>
        calibrateWithSelection({
          classifier: model,
          images,
          labels,
          dataSha256,
          candidates: parsed.data.candidates ?? defaultCandidates(model),
          targetFpr: parsed.data.fpr,
          seed: parsed.data.seed,
          store: deps.calibrations,
        })
      );
      const { set: _set, ...response } = result;
      return c.json(response);
    }
    const squeezers = parsed.data.squeezers ?? defaultSqueezers(model);
    const images = await decodeImagesToPixels(body.images, model.manifest.input, deps, signal);
    await c.get("admit")();
    const result = await calibrate({
      classifier: model,
      images,
      squeezers,
      targetFpr: parsed.data.fpr,
      store: deps.calibrations,
      signal,
    });
    return c.json(result);
  });
}

/** One class index per image, of at least two classes (a detector tuned on one class says little). */
function validLabels(raw: unknown, images: number, classes: number): number[] {
  if (raw === undefined) throw new RequestError(422, "invalid_labels", "labels: select needs one label per image");
  if (!Array.isArray(raw) || raw.length !== images) {
    throw new RequestError(
      422,
      "invalid_labels",
      `labels: expected an array of ${images} class indices (one per image), got ${
        Array.isArray(raw) ? raw.length : typeof raw
      }`,
    );
  }
  raw.forEach((v, i) => {
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RequestError(422, "invalid_labels", `labels.${i}: expected a class index in [0, ${classes})`);
    }
  });
  if (new Set(raw).size < 2) {
    throw new RequestError(422, "invalid_labels", "labels: squeezer selection needs images of at least two classes");
  }
  return raw as number[];
}

function defaultSqueezers(model: ModelFacts): Squeezer[] {
  const squeeze = modelDefaultOptions(model).squeeze;
  if (!squeeze) {
    throw new RequestError(422, "invalid_options", "squeezing is off for this model; pass options.squeezers");
  }
  return squeeze.squeezers;
}
