import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { HttpOps } from "../middleware/ops.ts";
import { errorResponses } from "../schemas.ts";

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "metrics",
  tags: ["operations"],
  summary: "Prometheus metrics: requests, latency, check stages, admission queue, rejections, Worker restarts",
  responses: {
    200: {
      description: "Prometheus text exposition format",
      content: { "text/plain": { schema: z.string() } },
    },
    ...errorResponses([]),
  },
});

export function registerMetricsRoute(app: OpenAPIHono, ops: HttpOps): void {
  app.openAPIRegistry.registerPath(metricsRoute);
  app.get("/metrics", async (c) => {
    // registry.contentType carries the format version Prometheus expects.
    c.header("Content-Type", ops.metrics.registry.contentType);
    return c.body(await ops.metrics.registry.metrics());
  });
}
