import type { Config } from "./config.ts";
import { createApp } from "./http/app.ts";
import { DecodePool } from "./intake/decode_pool.ts";
import { loadRegistry, type Registry } from "./registry/registry.ts";
import { openUploadedModels } from "./registry/uploaded.ts";
import { selectEngine } from "./runtime/select_engine.ts";
import { openStorage, type Storage } from "./storage/open.ts";

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  registry: Registry;
  /** The database (and, for job queues, its PGlite instance or URL). */
  storage: Storage;
  shutdown(): Promise<void>;
}

/** Opens the database, starts the engine, loads the seed models and serves the API. */
export async function startServer(config: Config, log: (line: string) => void = console.log): Promise<RunningServer> {
  // First, so a locked data directory is refused before anything else starts.
  const storage = await openStorage(config.storage);
  // Falls back (threads, then the next backend under auto) instead of dying; throws only if nothing runs.
  const { engine, selection } = await selectEngine(
    { backend: config.backend, threads: config.threads, workers: config.workers },
    log,
  ).catch(async (error) => {
    await storage.close();
    throw error;
  });
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
  const decoder = new DecodePool(config.decodeWorkers);
  const app = createApp({
    registry,
    engine,
    engineSelection: selection,
    calibrations: storage.calibrations,
    decoder,
    limits: config.limits,
    checkLimits: config.checkLimits,
    maxModelBytes: config.uploads.maxModelBytes,
  });
  const server = Deno.serve({ port: config.port, hostname: config.hostname, onListen: () => {} }, app.fetch);
  const port = server.addr.port;
  log(
    `robustcheck listening on http://${config.hostname}:${port} — backend ${engine.backend}, ${engine.threads} threads ` +
      `(${selection.reason}), ` +
      `database ${storage.kind}, models: ${registry.list().map((m) => m.manifest.id).join(", ") || "none"}`,
  );
  return {
    port,
    registry,
    storage,
    async shutdown() {
      await server.shutdown();
      await registry.close();
      decoder.close();
      await storage.close();
      engine.close();
    },
  };
}
