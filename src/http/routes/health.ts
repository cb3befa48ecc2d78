import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppDeps } from "../context.ts";

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  operationId: "healthz",
  tags: ["health"],
  summary: "The process is alive",
  security: [],
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } } },
  },
});

const ReadySchema = z.object({
  status: z.enum(["ready", "degraded"]),
  backend: z.string(),
  threads: z.number().int(),
  workers: z.number().int(),
  /** Session Workers replaced after a crash or a hang since start. */
  workerRestarts: z.number().int(),
  models: z.array(z.object({ id: z.string(), gradient: z.enum(["exact", "spsa"]) })),
  failures: z.array(z.object({ folder: z.string(), error: z.string() })),
  reason: z.string().openapi({ description: "Why the status is what it is (e.g. why no model loaded)." }),
  backendReason: z.string().openapi({
    description: "Why this backend and thread count are in use (the configured choice, or a start-up fallback).",
  }),
  backendFallbacks: z.array(z.object({ backend: z.string(), threads: z.number().int(), error: z.string() }))
    .openapi({ description: "Backends tried at start-up that could not run, in order." }),
}).openapi("Readiness");

const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  operationId: "readyz",
  tags: ["health"],
  summary: "Models are loaded; which backend runs them",
  security: [],
  description: "503 when no model could be loaded. Failed model folders are named relative to the models " +
    "directory (no absolute paths).",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: ReadySchema } } },
    503: { description: "No model loaded", content: { "application/json": { schema: ReadySchema } } },
  },
});

export function registerHealthRoutes(app: OpenAPIHono, deps: AppDeps): void {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));
  app.openapi(readyRoute, (c) => {
    const models = deps.registry.list().map((m) => ({ id: m.manifest.id, gradient: m.gradientMode }));
    const failures = deps.registry.failures;
    const selection = deps.engineSelection;
    const body = {
      status: failures.length === 0 ? "ready" as const : "degraded" as const,
      backend: deps.engine.backend,
      threads: deps.engine.threads,
      workers: deps.engine.workers,
      workerRestarts: deps.engine.restarts,
      models,
      failures: deps.registry.failures.map((f) => withoutPaths(f)),
      reason: models.length > 0
        ? failures.length === 0 ? `${models.length} models loaded` : `${failures.length} models failed to load`
        : failures.length > 0
        ? `no model loaded: all ${failures.length} failed (see failures)`
        : "no model loaded: the models directory has none and none was uploaded",
      backendReason: selection?.reason ?? `${deps.engine.backend} with ${deps.engine.threads} threads`,
      backendFallbacks: selection?.failed ?? [],
    };
    return models.length > 0 ? c.json(body, 200) : c.json(body, 503);
  });
}

/** A failure as a client may see it: the folder's name, and the error without the server's directories. */
function withoutPaths(failure: { folder: string; error: string }): { folder: string; error: string } {
  const name = failure.folder.split(/[\\/]/).filter(Boolean).pop() ?? failure.folder;
  const error = failure.error.replaceAll(failure.folder, name).replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}/g, "…");
  return { folder: name, error };
}
