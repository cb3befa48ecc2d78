import { loadConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/server.ts";
import { freshDataDir } from "../../src/storage/testing.ts";

export interface TestServer extends RunningServer {
  url: string;
}

/**
 * A real server on a free loopback port, with its own PGlite data directory (a copy of a migrated
 * template: see src/storage/testing.ts). Extra env entries override the defaults (e.g.
 * ROBUSTCHECK_BACKEND, or ROBUSTCHECK_DATA_DIR to reuse a directory, which is then kept). The default backend is
 * native, what `auto` serves with on a server: it starts in 0.2 s where WASM takes 1.3 s (compiling onnxruntime-web),
 * and the suite starts dozens of servers. WASM is tested end to end by the golden reports, tests/backends_test.ts and the
 * deploy smoke test, and in-process by the unit tests.
 */
export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = env.ROBUSTCHECK_DATA_DIR ??
    (env.ROBUSTCHECK_DATABASE_URL ? await Deno.makeTempDir({ prefix: "robustcheck-data-" }) : await freshDataDir());
  const config = loadConfig({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    ROBUSTCHECK_BACKEND: "native",
    ROBUSTCHECK_THREADS: "2",
    ROBUSTCHECK_DATA_DIR: dataDir,
    ...env,
  });
  const server = await startServer(config, () => {});
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}`,
    async shutdown() {
      await server.shutdown();
      if (!env.ROBUSTCHECK_DATA_DIR) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Starts `main.ts` as the README does and waits for its listening line. */
export async function startMain(env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: new URL("../..", import.meta.url).pathname,
    env: { PORT: "0", HOSTNAME: "127.0.0.1", ROBUSTCHECK_BACKEND: "wasm", ROBUSTCHECK_THREADS: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  // The start-up log is JSON lines; `listening` carries the URL.
  while (!buffer.includes('"msg":"listening"')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`server exited: ${buffer}`);
    buffer += value;
  }
  lines.push(...buffer.split("\n"));
  const port = Number(/"url":"http:\/\/[^:]+:(\d+)"/.exec(buffer)![1]);
  // Later output (an access-log line per request) is read and dropped: a full pipe would block the server.
  const drained = (async () => {
    while (!(await reader.read()).done) { /* drop */ }
  })().catch(() => {});
  const stderrDrained = child.stderr.pipeTo(new WritableStream()).catch(() => {});
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    /** The start-up log, up to the listening line. */
    lines,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Promise.all([drained, stderrDrained]);
    },
  };
}

export interface LabelledImage {
  file: string;
  label: number;
  bytes: Uint8Array;
}

/** A process' resident set in bytes (Linux: VmRSS of /proc/<pid>/status). */
export function residentBytes(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) * 1024;
}

/** The committed Fashion-MNIST test images (tests/fixtures/<set>/labels.json + PNGs). */
export async function loadFixtureImages(set: "fashion" | "fashion-rgb", limit = Infinity): Promise<LabelledImage[]> {
  const dir = new URL(`../fixtures/${set}/`, import.meta.url);
  const labels: { file: string; label: number }[] = JSON.parse(await Deno.readTextFile(new URL("labels.json", dir)));
  return await Promise.all(
    labels.slice(0, limit).map(async (l) => ({ ...l, bytes: await Deno.readFile(new URL(l.file, dir)) })),
  );
}

export const MODELS_DIR = new URL("../../models/", import.meta.url).pathname;
export const FIXTURE_MODELS_DIR = new URL("../fixtures/models/", import.meta.url).pathname;

/** Copies a model folder (model.onnx + manifest.json), optionally editing the manifest on the way. */
export async function copyModel(
  from: string,
  to: string,
  edit?: (manifest: Record<string, unknown>) => void,
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  await Deno.copyFile(`${from}/model.onnx`, `${to}/model.onnx`);
  const manifest = JSON.parse(await Deno.readTextFile(`${from}/manifest.json`));
  edit?.(manifest);
  await Deno.writeTextFile(`${to}/manifest.json`, JSON.stringify(manifest));
}

/** A temporary models directory holding copies of the given fixture models. */
export async function fixtureModelsDir(...ids: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-models-" });
  for (const id of ids) await copyModel(`${FIXTURE_MODELS_DIR}${id}`, `${dir}/${id}`);
  return dir;
}

export function imageRequest(bytes: Uint8Array, type = "image/png"): RequestInit {
  return { method: "POST", headers: { "content-type": type }, body: bytes as Uint8Array<ArrayBuffer> };
}

export function jsonRequest(body: unknown): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}

export function multipartRequest(bytes: Uint8Array, options?: unknown, type = "image/png"): RequestInit {
  const form = new FormData();
  form.append("image", new Blob([bytes as Uint8Array<ArrayBuffer>], { type }), "image");
  if (options !== undefined) form.append("options", JSON.stringify(options));
  return { method: "POST", body: form };
}

/** Asserts the JSON error shape and returns the body. */
export async function errorOf(response: Response): Promise<{ code: string; message: string }> {
  const body = await response.json();
  if (typeof body?.error?.code !== "string" || typeof body?.error?.message !== "string") {
    throw new Error(`not an error body: ${JSON.stringify(body)}`);
  }
  return body.error;
}
