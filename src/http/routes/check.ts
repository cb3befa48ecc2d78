import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { checkImage } from "../../check/service.ts";
import { type CheckLimits, CheckOptionsSchema } from "../../check/options.ts";
import { RequestError } from "../../errors.ts";
import { intakeImage } from "../../intake/intake.ts";
import { type AppDeps, requireModel } from "../context.ts";
import { CHECK_OPTIONS_EXAMPLE, CHECK_REPORT_EXAMPLE } from "../examples.ts";
import { errorResponses, IMAGE_BODY_ERRORS, imageBodyContent, ModelIdParam } from "../schemas.ts";
import { CheckReportSchema } from "./check_schema.ts";

/**
 * The options contract, documented from the very schema `/check` validates with. It is built with plain zod,
 * possibly before @hono/zod-openapi added `.openapi` to zod's schemas; a clone made now has it.
 */
const CheckOptionsDoc = CheckOptionsSchema.clone().openapi("CheckOptions", {
  description: "Every key optional; a probe set to `false` is off; an absent key takes the model manifest's " +
    "`defaults.check`, then the server default (README, The check).",
  example: CHECK_OPTIONS_EXAMPLE,
});

const checkRoute = createRoute({
  method: "post",
  path: "/v1/models/{id}/check",
  operationId: "check",
  tags: ["images"],
  summary: "Is this input adversarial-looking, and how fragile is the prediction on it?",
  description: "Runs feature squeezing, randomized resizing (+EoT-PGD), FGSM, PGD and a minimal-ε search on one " +
    "image and returns one report. Options ride in the multipart `options` field, the JSON `options` key, or the " +
    "`options` query parameter (URL-encoded JSON) for raw image bodies.",
  request: {
    params: ModelIdParam,
    query: z.object({
      options: z.string().optional().openapi({
        description:
          "CheckOptions as URL-encoded JSON, for raw image bodies (JSON and multipart bodies carry their own)",
        example: JSON.stringify({ seed: 7 }),
      }),
    }),
    body: {
      content: imageBodyContent({ schema: CheckOptionsDoc, example: CHECK_OPTIONS_EXAMPLE }),
      required: true,
    },
  },
  responses: {
    200: {
      description: "The report",
      content: { "application/json": { schema: CheckReportSchema, example: CHECK_REPORT_EXAMPLE } },
    },
    ...errorResponses(["unknown_model", ...IMAGE_BODY_ERRORS, "invalid_options", "limit_exceeded"]),
  },
});

export function registerCheckRoute(app: OpenAPIHono, deps: AppDeps & { checkLimits: CheckLimits }): void {
  app.openAPIRegistry.registerPath(checkRoute);
  app.post("/v1/models/:id/check", async (c) => {
    const start = performance.now();
    const model = await requireModel(deps.registry, c.req.param("id"), c.req.query("version"));
    const image = await intakeImage(c.req.raw, model.manifest.input, deps);
    const rawOptions = image.options ?? parseQueryOptions(c.req.query("options"));
    const report = await checkImage({
      classifier: model,
      pixels: image.pixels,
      rawOptions,
      calibrations: deps.calibrations,
      limits: deps.checkLimits,
    });
    report.timings.decodeMs = image.decodeMs;
    report.timings.requestMs = performance.now() - start;
    return c.json({ ...report, image: image.source });
  });
}

function parseQueryOptions(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new RequestError(400, "invalid_json", "the `options` query parameter is not valid JSON");
  }
}
