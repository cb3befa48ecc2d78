/** `deno task worker`: runs audit shards from the shared database's queue (no HTTP). */
import { loadConfig } from "./src/config.ts";
import { startWorker } from "./src/server.ts";

const worker = await Promise.resolve().then(() => startWorker(loadConfig(Deno.env.toObject()))).catch((error) => {
  console.error(`robustcheck worker: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await worker.shutdown();
    Deno.exit(0);
  });
}
