import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Config } from "./config.ts";
import { RequestError } from "./errors.ts";
import { createApp } from "./http/app.ts";
import { isLoopbackAddress } from "./http/middleware/access.ts";
import { type HttpOps, RequestTracker } from "./http/middleware/ops.ts";
import { DecodePool } from "./intake/decode_pool.ts";
import { createAuditService, startAuditWorkers } from "./jobs/audits.ts";
import { openJobQueue } from "./jobs/queue.ts";
import { Admission } from "./ops/admission.ts";
import { type ApiKeys, loadApiKeys } from "./ops/api_keys.ts";
import { createLogger, type Logger } from "./ops/log.ts";
import { createMetrics, type Metrics } from "./ops/metrics.ts";
import { RateLimiter } from "./ops/rate_limit.ts";
import { loadRegistry, type Registry } from "./registry/registry.ts";
import { openUploadedModels } from "./registry/uploaded.ts";
import type { InferenceEngine } from "./runtime/engine.ts";
import { selectEngine } from "./runtime/select_engine.ts";
import { startWorkerPool } from "./runtime/worker_pool.ts";
import { openStorage, type Storage } from "./storage/open.ts";

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  registry: Registry;
  engine: InferenceEngine;
  ops: HttpOps;
  /** The HTTP app itself, for in-process requests (tests). */
  app: OpenAPIHono;
  /** The database (and, for job queues, its PGlite instance or URL). */
  storage: Storage;
  /** Stops accepting, lets in-flight requests finish for the grace period, cancels the rest, closes everything. */
  shutdown(): Promise<void>;
}

/**
 * Refuses to serve anonymously beyond this machine: a non-loopback bind needs API keys or an explicit
 * ROBUSTCHECK_ALLOW_ANONYMOUS=1. Returns what the start-up log says about access.
 */
export function accessMode(hostname: string, keys: ApiKeys, allowAnonymous: boolean): string {
  if (keys.size > 0) return `${keys.size} API keys; every route but health and docs needs one`;
  if (isLoopbackAddress(hostname)) return "no API keys: serving anonymously to loopback clients only";
  if (!allowAnonymous) {
    throw new Error(
      `refusing to listen on ${hostname} without API keys: set ROBUSTCHECK_API_KEYS_FILE (README, Limits, keys and ` +
        "operations), bind HOSTNAME=127.0.0.1, or set ROBUSTCHECK_ALLOW_ANONYMOUS=1",
    );
  }
  return `no API keys and ROBUSTCHECK_ALLOW_ANONYMOUS=1: anyone reaching ${hostname} may read and check; writes only from loopback`;
}

/** What the API and worker processes share: the database, the engine and the models. */
async function openServices(config: Config, log: Logger, metrics: Metrics) {
  // Before the engine, so a locked data directory is refused before anything else starts.
  const storage = await openStorage(config.storage);
  // Falls back (threads, then the next backend under auto) instead of dying; throws only if nothing runs.
  const pool = {
    ortLogLevel: config.ops.ortLogLevel,
    timeoutMs: config.ops.workerTimeoutMs,
    onRun: () => metrics.sessionRuns.inc(),
    onRestart: (reason: string) => {
      metrics.workerRestarts.inc();
      log.error("session worker replaced", { reason });
    },
  };
  const { engine, selection } = await selectEngine(
    { backend: config.backend, threads: config.threads, workers: config.workers, ...pool },
    (line) => log.warn(line),
  ).catch(async (error) => {
    await storage.close();
    throw error;
  });
  const registry = await loadRegistry({
    dir: config.modelsDir,
    engine,
    onFailure: (f) => {
      metrics.modelLoads.inc({ result: "failed" });
      log.warn("model not loaded", { folder: f.folder, error: f.error });
    },
    uploads: (isSeed) =>
      openUploadedModels({
        catalog: storage.models,
        engine,
        maxLoaded: config.uploads.maxLoadedModels,
        pollMs: config.uploads.pollMs,
        isSeed,
        gradientCheckTimeoutMs: config.ops.workerTimeoutMs,
        analysisTimeoutMs: config.ops.workerTimeoutMs,
        loadUploadsInSubprocess: true,
        loadTimeoutMs: config.ops.workerTimeoutMs,
        // The backend and threads start-up settled on; one Worker per loaded upload (README, Uploading models).
        sessionEngine: () => startWorkerPool({ backend: engine.backend, threads: engine.threads, workers: 1, ...pool }),
        log: (line) => log.warn(line),
      }),
  });
  metrics.modelLoads.inc({ result: "loaded" }, registry.list().length);
  return { storage, engine, selection, registry };
}

/** The audit service on the shared job queue; `workers` shards run in this process at once (0: none, only queueing). */
async function openAudits(config: Config, services: Awaited<ReturnType<typeof openServices>>, log: Logger) {
  const { storage, registry } = services;
  const queue = await openJobQueue(storage, { onError: (error) => log.error("job queue error", { error }) });
  const audits = createAuditService({
    audits: storage.audits,
    registry,
    queue,
    maxPixels: config.limits.maxPixels,
    log: (line) => log.info(line),
  });
  return { queue, audits };
}

/**
 * Opens the database, starts the engine, loads the seed models and serves the API (and ROBUSTCHECK_AUDIT_WORKERS audit
 * shards at a time). `logLine` receives JSON log lines.
 */
export async function startServer(
  config: Config,
  logLine: (line: string) => void = console.log,
): Promise<RunningServer> {
  const log = createLogger({ level: config.ops.logLevel, write: logLine });
  const metrics = createMetrics();
  const keys = await loadApiKeys(config.ops.apiKeysFile, config.ops.ratePerMinute);
  const access = accessMode(config.hostname, keys, config.ops.allowAnonymous);
  const services = await openServices(config, log, metrics);
  const { storage, engine, selection, registry } = services;
  const decoder = new DecodePool(config.decodeWorkers);
  const { queue, audits } = await openAudits(config, services, log);
  await startAuditWorkers(audits, queue, config.auditWorkers);
  const admission = new Admission({ maxInFlight: config.ops.maxInFlight, maxQueue: config.ops.maxQueue }, {
    waited: (seconds) => metrics.queueWait.observe(seconds),
    rejected: () => metrics.rejections.inc({ reason: "overloaded" }),
    changed: (inFlight, queued) => {
      metrics.inFlight.set(inFlight);
      metrics.queueDepth.set(queued);
    },
  });
  const ops: HttpOps = {
    log,
    metrics,
    admission,
    keys,
    rateLimiter: new RateLimiter(),
    requests: new RequestTracker(),
    requestTimeoutMs: config.ops.requestTimeoutMs,
    maxRequests: config.ops.maxRequests,
    allowAnonymous: config.ops.allowAnonymous,
    corsOrigins: config.ops.corsOrigins,
  };
  const app = createApp({
    registry,
    engine,
    engineSelection: selection,
    calibrations: storage.calibrations,
    decoder,
    limits: config.limits,
    checkLimits: config.checkLimits,
    maxModelBytes: config.uploads.maxModelBytes,
    audits,
  }, ops);
  let stopping: Promise<void> | undefined;
  /**
   * Deno.serve's accept loop ends when accept fails, e.g. with EMFILE when file descriptors run out: the listener is
   * then opened again on the same port (retrying while descriptors are short), so traffic cannot stop the service.
   */
  const listen = (port: number): Deno.HttpServer<Deno.NetAddr> => {
    const listener = Deno.serve({
      port,
      hostname: config.hostname,
      onListen: () => {},
      // Errors that escape Hono (none should) are answered, never fatal.
      onError: (error) => {
        log.error("unhandled request error", { error });
        return new Response(null, { status: 500 });
      },
    }, app.fetch);
    const bound = listener.addr.port;
    listener.finished.catch((error) => {
      if (stopping) return;
      log.error("listener failed; listening again", { error });
      const reopen = () => {
        if (stopping) return;
        try {
          server = listen(bound);
          metrics.listenerRestarts.inc();
          log.info("listening again", { port: server.addr.port });
        } catch (retry) {
          log.warn("cannot listen yet", { error: retry });
          setTimeout(reopen, 250);
        }
      };
      setTimeout(reopen, 50);
    });
    return listener;
  };
  let server = listen(config.port);
  const port = server.addr.port;
  log.info("listening", {
    url: `http://${config.hostname}:${port}`,
    backend: engine.backend,
    threads: engine.threads,
    workers: engine.workers,
    database: storage.kind,
    auditWorkers: config.auditWorkers,
    models: registry.list().map((m) => m.manifest.id),
    access,
    maxInFlight: config.ops.maxInFlight,
    maxQueue: config.ops.maxQueue,
    requestTimeoutMs: config.ops.requestTimeoutMs,
    backendReason: selection.reason,
  });
  const browsable = ["0.0.0.0", "::"].includes(config.hostname) ? "localhost" : config.hostname;
  log.info("web UI", { url: `http://${browsable.includes(":") ? `[${browsable}]` : browsable}:${port}/` });
  return {
    port,
    registry,
    engine,
    ops,
    app,
    storage,
    shutdown() {
      stopping ??= (async () => {
        // Drain first (new requests get 503), then cancel what outlives the grace period, then close the listener:
        // Deno's own shutdown would cut request bodies that are still arriving.
        log.info("shutting down", { inFlight: ops.requests.size, graceMs: config.ops.shutdownGraceMs });
        ops.requests.draining = true;
        if (!(await ops.requests.idle(config.ops.shutdownGraceMs))) {
          log.warn("cancelling requests still running after the grace period", { inFlight: ops.requests.size });
          ops.requests.cancelAll(new RequestError(503, "shutting_down", "the server is shutting down"));
        }
        await server.shutdown();
        await queue.stop(false);
        await registry.close();
        decoder.close();
        await storage.close();
        engine.close();
        log.info("stopped");
      })();
      return stopping;
    },
  };
}

export interface RunningWorker {
  storage: Storage;
  shutdown(): Promise<void>;
}

/** `deno task worker`: audit shards only, no HTTP (ROBUSTCHECK_AUDIT_WORKERS at a time, at least 1). */
export async function startWorker(
  config: Config,
  logLine: (line: string) => void = console.log,
): Promise<RunningWorker> {
  const log = createLogger({ level: config.ops.logLevel, write: logLine });
  const services = await openServices(config, log, createMetrics());
  const { storage, engine, registry } = services;
  const { queue, audits } = await openAudits(config, services, log);
  const concurrency = Math.max(1, config.auditWorkers);
  await startAuditWorkers(audits, queue, concurrency);
  log.info("worker started", { backend: engine.backend, database: storage.kind, auditWorkers: concurrency });
  return {
    storage,
    async shutdown() {
      await queue.stop(false);
      await registry.close();
      await storage.close();
      engine.close();
    },
  };
}
