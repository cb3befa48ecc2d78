/**
 * The service run the way Deno Deploy runs it (README "Deploy to the edge"): another Deno (the
 * Deploy version), no write access to its directory, state in PostgreSQL. `.ci/run` sets
 * ROBUSTCHECK_SMOKE_SERVE to the command that starts main.ts so (e.g. `setpriv … deno@2.5.0 run -A
 * main.ts`, run in ROBUSTCHECK_SMOKE_CWD, a read-only copy); without it these tests are ignored.
 * ROBUSTCHECK_SMOKE_WORKER is the same command for worker.ts (the audit test needs it).
 */
import assert from "node:assert/strict";
import { imageRequest, jsonRequest, loadFixtureImages } from "./support/server.ts";

const serve = Deno.env.get("ROBUSTCHECK_SMOKE_SERVE");
const cwd = Deno.env.get("ROBUSTCHECK_SMOKE_CWD");
const databaseUrl = Deno.env.get("ROBUSTCHECK_SMOKE_DATABASE_URL");
const backends = (Deno.env.get("ROBUSTCHECK_SMOKE_BACKENDS") ?? "wasm").split(",").filter(Boolean);
const worker = Deno.env.get("ROBUSTCHECK_SMOKE_WORKER");
const ignore = !serve || !cwd || !databaseUrl;
const LISTENING = /"msg":"listening","url":"http:\/\/[^:]+:(\d+)/;
const WORKER_STARTED = /"msg":"worker started"/;

interface Served {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Starts `command` (by default the server) with `env` and waits for its `ready` line. */
async function start(env: Record<string, string>, command = serve, ready = LISTENING): Promise<Served> {
  const child = new Deno.Command("bash", {
    args: ["-c", `exec ${command}`],
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
  while (!ready.test(out)) {
    const status = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 200))]);
    if (status) throw new Error(`${command} exited (${JSON.stringify(status)}): ${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${command} did not start within 90 s: ${out}`);
    }
  }
  const port = Number(LISTENING.exec(out)?.[1] ?? 0);
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
          assert.match(server.output(), /"database":"postgres"/);
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

Deno.test({
  name: "deploy smoke: an API process with ROBUSTCHECK_AUDIT_WORKERS=0 queues an audit, a worker.ts process runs it",
  ignore: ignore || !worker,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const env = { ROBUSTCHECK_BACKEND: "wasm", ROBUSTCHECK_THREADS: "1", ROBUSTCHECK_DATABASE_URL: databaseUrl! };
    // The API first: it migrates the database the worker then uses.
    const api = await start({ ...env, ROBUSTCHECK_AUDIT_WORKERS: "0" });
    let shards: Served | undefined;
    try {
      shards = await start(env, worker, WORKER_STARTED);
      const plan = {
        subsample: { size: 8 },
        attacks: [{ kind: "fgsm", eps: [0.05] }],
        minimalEpsilon: false,
        squeeze: false,
        randomization: false,
        spsa: false,
      };
      const response = await fetch(
        `${api.url}/v1/audits`,
        jsonRequest({ model: "fashion-cnn", dataset: { builtin: "fashion-mnist-sample" }, seed: 1, plan }),
      );
      const created = await response.json();
      assert.equal(response.status, 202, JSON.stringify(created));
      // Done at all means the worker ran it: the API process has no audit workers.
      const deadline = Date.now() + 60_000;
      let view = await (await fetch(`${api.url}/v1/audits/${created.id}`)).json();
      while (view.status !== "done") {
        assert.ok(!["failed", "cancelled"].includes(view.status), JSON.stringify(view));
        assert.ok(Date.now() < deadline, `audit not done within 60 s: ${JSON.stringify(view)}\n${shards.output()}`);
        await new Promise((r) => setTimeout(r, 250));
        view = await (await fetch(`${api.url}/v1/audits/${created.id}`)).json();
      }
      const reportResponse = await fetch(`${api.url}/v1/audits/${created.id}/report`);
      const report = await reportResponse.json();
      assert.equal(reportResponse.status, 200, JSON.stringify(report));
      assert.equal(report.images.total, 8, JSON.stringify(report.images));
      assert.equal(report.provenance.dataset.images, 8);
    } finally {
      await shards?.stop();
      await api.stop();
    }
  },
});
