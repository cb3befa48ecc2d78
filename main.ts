import { loadConfig } from "./src/config.ts";
import { startServer } from "./src/server.ts";

const config = loadConfig(Deno.env.toObject());
const server = await startServer(config);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    Deno.exit(0);
  });
}
