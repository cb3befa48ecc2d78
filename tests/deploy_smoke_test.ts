/**
 * The service run the way Deno Deploy runs it (README "Deploy to the edge"): another Deno (the
 * Deploy version), no write access to its directory, state in PostgreSQL. `.ci/run` sets
 * ROBUSTCHECK_SMOKE_SERVE to the command that starts main.ts so (e.g. `setpriv … deno@2.5.0 run -A
 * main.ts`, run in ROBUSTCHECK_SMOKE_CWD, a read-only copy); without it these tests are ignored.
 */
import assert from "node:assert/strict";
import { imageRequest, jsonRequest, loadFixtureImages } from "./support/server.ts";

const serve = Deno.env.get("ROBUSTCHECK_SMOKE_SERVE");
const cwd = Deno.env.get("ROBUSTCHECK_SMOKE_CWD");
const databaseUrl = Deno.env.get("ROBUSTCHECK_SMOKE_DATABASE_URL");
const backends = (Deno.env.get("ROBUSTCHECK_SMOKE_BACKENDS") ?? "wasm").split(",").filter(Boolean);
const ignore = !serve || !cwd || !databaseUrl;

interface Served {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts the configured command with `env` and waits for its listening line. */
async function start(env: Record<string, string>): Promise<Served> {
  const child = new Deno.Command("bash", {
    args: ["-c", `exec ${serve}`],
    cwd,
    env: { PORT: "0", HOSTNAME: "127.0.0.1", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  };
  const done = Promise.all([collect(child.stdout), collect(child.stderr)]);
  const exited = child.status.then((s) => s);
  const deadline = Date.now() + 90_000;
  while (!/"msg":"listening","url":"http:\/\/[^:]+:(\d+)/.test(out)) {
    const status = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 200))]);
    if (status) throw new Error(`server exited (${JSON.stringify(status)}): ${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start within 90 s: ${out}`);
    }
  }
  const port = Number(/"msg":"listening","url":"http:\/\/[^:]+:(\d+)/.exec(out)![1]);
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      await done;
    },
  };
}

for (const backend of backends) {
  Deno.test({
    name: `deploy smoke (${backend}): start read-only on PostgreSQL, /healthz, /readyz, predict, check, calibrate`,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      const images = await loadFixtureImages("fashion", 12);
      const server = await start({
        ROBUSTCHECK_BACKEND: backend,
        ROBUSTCHECK_THREADS: "2",
        ROBUSTCHECK_DATABASE_URL: databaseUrl!,
      });
      try {
        await t.step("/healthz", async () => {
          assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: "ok" });
        });
        await t.step("/readyz names the backend, its threads and why", async () => {
          const response = await fetch(`${server.url}/readyz`);
          const ready = await response.json();
          assert.equal(response.status, 200, JSON.stringify(ready));
          assert.equal(ready.backend, backend);
          assert.ok(ready.backendReason.length > 0);
          // Fewer threads than asked for only with the failed attempt that explains it.
          if (ready.threads < 2) assert.ok(ready.backendFallbacks.length > 0, JSON.stringify(ready));
          assert.ok(ready.models.some((m: { id: string }) => m.id === "fashion-cnn"), JSON.stringify(ready));
          assert.match(server.output(), /database postgres/);
        });
        await t.step("predict", async () => {
          const response = await fetch(`${server.url}/v1/models/fashion-cnn/predict`, imageRequest(images[0].bytes));
          const body = await response.json();
          assert.equal(response.status, 200, JSON.stringify(body));
          assert.equal(body.prediction.index, images[0].label);
        });
        await t.step("check", async () => {
          const response = await fetch(
            `${server.url}/v1/models/fashion-cnn/check`,
            jsonRequest({
              image: images[0].bytes.toBase64(),
              options: { label: images[0].label, seed: 7, randomization: false, minimalEpsilon: false },
            }),
          );
          const report = await response.json();
          assert.equal(response.status, 200, JSON.stringify(report));
          assert.equal(report.backend, backend);
          assert.ok(report.probes.length > 0 && Number.isFinite(report.score), JSON.stringify(report));
        });
        await t.step("calibrate (stored in PostgreSQL)", async () => {
          const form = new FormData();
          for (const image of images) {
            form.append("image", new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: "image/png" }));
          }
          form.append("options", JSON.stringify({ fpr: 0.25 }));
          const response = await fetch(`${server.url}/v1/models/fashion-cnn/calibrate`, { method: "POST", body: form });
          const calibration = await response.json();
          assert.equal(response.status, 200, JSON.stringify(calibration));
          assert.equal(calibration.count, images.length);
          const info = await (await fetch(`${server.url}/v1/models/fashion-cnn`)).json();
          assert.equal(info.squeeze.source, "calibration");
        });
      } finally {
        await server.stop();
      }
    },
  });
}

Deno.test({
  name: "deploy smoke: without ROBUSTCHECK_DATABASE_URL a read-only directory is refused with a clear message",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const child = new Deno.Command("bash", {
      args: ["-c", `exec ${serve}`],
      cwd,
      env: { PORT: "0", HOSTNAME: "127.0.0.1", NO_COLOR: "1", ROBUSTCHECK_DATABASE_URL: "" },
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stderr } = await child.output();
    const message = new TextDecoder().decode(stderr);
    assert.equal(code, 1);
    assert.match(message, /robustcheck: .*ROBUSTCHECK_DATABASE_URL/);
  },
});
