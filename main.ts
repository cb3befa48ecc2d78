import { loadConfig } from "./src/config.ts";
import { startServer } from "./src/server.ts";

const server = await Promise.resolve().then(() => startServer(loadConfig(Deno.env.toObject()))).catch((error) => {
  // Configuration and storage problems (a locked data directory, an unreachable database) are
  // the operator's to fix: say what is wrong, without a stack trace.
  console.error(`robustcheck: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    Deno.exit(0);
  });
}
