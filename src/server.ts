import type { Config } from "./config.ts";
import { createApp } from "./http/app.ts";
import { DecodePool } from "./intake/decode_pool.ts";
import { createAuditService, startAuditWorkers } from "./jobs/audits.ts";
import { openJobQueue } from "./jobs/queue.ts";
import { loadRegistry, type Registry } from "./registry/registry.ts";
import { openUploadedModels } from "./registry/uploaded.ts";
import { startWorkerPool } from "./runtime/worker_pool.ts";
import { openStorage, type Storage } from "./storage/open.ts";

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  registry: Registry;
  /** The database (and, for job queues, its PGlite instance or URL). */
  storage: Storage;
  shutdown(): Promise<void>;
}

/** What the API and worker processes share: the database, the engine and the models. */
async function openServices(config: Config, log: (line: string) => void) {
  // First, so a locked data directory is refused before anything else starts.
  const storage = await openStorage(config.storage);
  const engine = await startWorkerPool({ backend: config.backend, threads: config.threads, workers: config.workers });
  const registry = await loadRegistry({
    dir: config.modelsDir,
    engine,
    onFailure: (f) => log(`model ${f.folder} not loaded: ${f.error}`),
    uploads: (isSeed) =>
      openUploadedModels({
        catalog: storage.models,
        engine,
        maxLoaded: config.uploads.maxLoadedModels,
        pollMs: config.uploads.pollMs,
        isSeed,
        log,
      }),
  });
  return { storage, engine, registry };
}

/** Opens the database, starts the engine, loads the seed models and serves the API (and audit workers). */
export async function startServer(config: Config, log: (line: string) => void = console.log): Promise<RunningServer> {
  const { storage, engine, registry } = await openServices(config, log);
  const decoder = new DecodePool(config.decodeWorkers);
  const queue = await openJobQueue(storage);
  const audits = createAuditService({
    audits: storage.audits,
    registry,
    queue,
    maxPixels: config.limits.maxPixels,
    log,
  });
  await startAuditWorkers(audits, queue, config.auditWorkers);
  const app = createApp({
    registry,
    engine,
    calibrations: storage.calibrations,
    decoder,
    limits: config.limits,
    checkLimits: config.checkLimits,
    maxModelBytes: config.uploads.maxModelBytes,
    audits,
  });
  const server = Deno.serve({ port: config.port, hostname: config.hostname, onListen: () => {} }, app.fetch);
  const port = server.addr.port;
  log(
    `robustcheck listening on http://${config.hostname}:${port} — backend ${engine.backend}, ${engine.threads} threads, ` +
      `database ${storage.kind}, audit workers ${config.auditWorkers}, models: ${
        registry.list().map((m) => m.manifest.id).join(", ") || "none"
      }`,
  );
  return {
    port,
    registry,
    storage,
    async shutdown() {
      await server.shutdown();
      await queue.stop(false);
      await registry.close();
      await storage.close();
      decoder.close();
      engine.close();
    },
  };
}

export interface RunningWorker {
  storage: Storage;
  shutdown(): Promise<void>;
}

/** `deno task worker`: audit shards only, no HTTP (ROBUSTCHECK_AUDIT_WORKERS at a time, at least 1). */
export async function startWorker(config: Config, log: (line: string) => void = console.log): Promise<RunningWorker> {
  const { storage, engine, registry } = await openServices(config, log);
  const queue = await openJobQueue(storage);
  const audits = createAuditService({
    audits: storage.audits,
    registry,
    queue,
    maxPixels: config.limits.maxPixels,
    log,
  });
  const concurrency = Math.max(1, config.auditWorkers);
  await startAuditWorkers(audits, queue, concurrency);
  log(`robustcheck worker — backend ${engine.backend}, database ${storage.kind}, ${concurrency} shard(s) at a time`);
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
