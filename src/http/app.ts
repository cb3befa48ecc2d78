import { OpenAPIHono } from "@hono/zod-openapi";
import { RequestError } from "../errors.ts";
import type { CheckLimits } from "../check/options.ts";
import type { AppDeps } from "./context.ts";
import { registerDocsRoutes } from "./docs.ts";
import { handleError, notFoundHandler } from "./errors.ts";
import { registerAuditRoutes } from "./routes/audits.ts";
import { registerCalibrateRoute } from "./routes/calibrate.ts";
import { registerCheckRoute } from "./routes/check.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerModelRoutes } from "./routes/models.ts";
import { registerModelUploadRoutes } from "./routes/model_uploads.ts";
import { registerPredictRoute } from "./routes/predict.ts";
import { registerUiRoutes } from "../ui/routes.tsx";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import { accessControl } from "./middleware/access.ts";
import { defaultHttpOps, type HttpOps } from "./middleware/ops.ts";
import { requestScope } from "./middleware/request_scope.ts";
import { registerMetricsRoute } from "./routes/metrics.ts";

export const API_VERSION = "0.1.0";

/** The HTTP API: routes validate, call a service function, and serialise. */
export function createApp(
  deps: AppDeps & { checkLimits: CheckLimits },
  ops: HttpOps = defaultHttpOps(),
): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        throw new RequestError(422, "invalid_request", `${issue.path.join(".") || "request"}: ${issue.message}`);
      }
    },
  });
  // Operations first (README "Limits, keys and operations"): request id, deadline and cancellation, security
  // headers, CORS (before authentication, so that preflights pass), keys/scopes/rate limits/admission.
  app.use("*", requestScope(ops));
  app.use("*", secureHeaders());
  if (ops.corsOrigins.length > 0) {
    app.use(
      "*",
      cors({
        origin: ops.corsOrigins,
        allowHeaders: ["Authorization", "Content-Type", "X-Request-Id"],
        exposeHeaders: ["X-Request-Id", "Retry-After"],
        maxAge: 600,
      }),
    );
  }
  app.use("*", accessControl(ops));
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An operator-issued API key (README, Limits, keys and operations) with scopes: `read` (models, " +
      "metrics), `check` (predict, check), `write` (calibrate, model upload/delete, audits), `admin` (all). Health, " +
      "readiness, this document and /docs need no key. Without configured keys the server serves loopback clients " +
      "anonymously.",
  });
  registerHealthRoutes(app, deps);
  registerMetricsRoute(app, ops);
  registerModelRoutes(app, deps);
  registerModelUploadRoutes(app, deps);
  registerPredictRoute(app, deps);
  registerCheckRoute(app, deps, ops.metrics);
  registerCalibrateRoute(app, deps);
  registerAuditRoutes(app, deps);
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "robustcheck",
      version: API_VERSION,
      description: "How easily can an image classifier be fooled on this image? All ε are in [0,1] pixel space. " +
        "Errors are `{error: {code, message}}`; a method a path does not have answers 405 `method_not_allowed` " +
        "with an `Allow` header, an unknown path 404 `not_found`.",
    },
    servers: [{ url: "/", description: "The server this document was fetched from" }],
    security: [{ apiKey: [] }],
    tags: [
      { name: "health", description: "Liveness and readiness" },
      { name: "models", description: "The loaded classifiers" },
      { name: "images", description: "Classify or check one image" },
      { name: "calibration", description: "Feature-squeezing thresholds from clean images" },
      { name: "operations", description: "Prometheus metrics" },
      { name: "audits", description: "Dataset audits: durable background jobs with a report" },
    ],
  });
  registerDocsRoutes(app, "/openapi.json");
  registerUiRoutes(app);
  app.notFound(notFoundHandler(() => app.routes));
  app.onError((error, c) => handleError(error, c, ops.log));
  return app;
}
