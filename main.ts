import { loadConfig } from "./src/config.ts";
import { startServer } from "./src/server.ts";

const config = loadConfig(Deno.env.toObject());
const server = await startServer(config);
// A stray rejection is logged, never fatal: traffic must not be able to stop the process.
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  console.error(
    JSON.stringify({
      time: new Date().toISOString(),
      level: "error",
      msg: "unhandled rejection",
      error: String(event.reason),
    }),
  );
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    await server.shutdown();
    Deno.exit(0);
  });
}
