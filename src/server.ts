import { openCalibrationStore } from "./calibration/store.ts";
import type { Config } from "./config.ts";
import { createApp } from "./http/app.ts";
import { DecodePool } from "./intake/decode_pool.ts";
import { loadRegistry, type Registry } from "./registry/registry.ts";
import { startWorkerPool } from "./runtime/worker_pool.ts";

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  registry: Registry;
  shutdown(): Promise<void>;
}

/** Starts the engine, loads every model, opens Deno KV and serves the API. */
export async function startServer(config: Config, log: (line: string) => void = console.log): Promise<RunningServer> {
  const engine = await startWorkerPool({ backend: config.backend, threads: config.threads, workers: config.workers });
  const registry = await loadRegistry({
    dir: config.modelsDir,
    engine,
    onFailure: (f) => log(`model ${f.folder} not loaded: ${f.error}`),
  });
  const calibrations = await openCalibrationStore(config.kvPath);
  const decoder = new DecodePool(config.decodeWorkers);
  const app = createApp({
    registry,
    engine,
    calibrations,
    decoder,
    limits: config.limits,
    checkLimits: config.checkLimits,
  });
  const server = Deno.serve({ port: config.port, hostname: config.hostname, onListen: () => {} }, app.fetch);
  const port = server.addr.port;
  log(
    `robustcheck listening on http://${config.hostname}:${port} — backend ${engine.backend}, ${engine.threads} threads, ` +
      `models: ${registry.list().map((m) => m.manifest.id).join(", ") || "none"}`,
  );
  const browsable = ["0.0.0.0", "::"].includes(config.hostname) ? "localhost" : config.hostname;
  log(`web UI: http://${browsable.includes(":") ? `[${browsable}]` : browsable}:${port}/`);
  return {
    port,
    registry,
    async shutdown() {
      await server.shutdown();
      await registry.close();
      calibrations.close();
      decoder.close();
      engine.close();
    },
  };
}
