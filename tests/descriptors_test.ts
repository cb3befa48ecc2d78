/**
 * File-descriptor exhaustion: `main.ts` under `ulimit -n 320` is flooded with connections until accept fails (EMFILE).
 * Deno.serve's accept loop then ends; the service opens its listener again on the same port, so once the flood is
 * gone it answers as before and the process never exits. The limit leaves room for what an idle server holds: about
 * 180 descriptors, most of them PGlite's open relation files (the job queue's tables among them).
 */
import assert from "node:assert/strict";
import { freshDataDir } from "../src/storage/testing.ts";
import { fixtureModelsDir } from "./support/server.ts";

Deno.test("descriptors: running out of file descriptors does not stop the service", async () => {
  const models = await fixtureModelsDir("fashion-linear");
  const data = await freshDataDir();
  const main = new URL("../main.ts", import.meta.url).pathname;
  const child = new Deno.Command("sh", {
    args: ["-c", `ulimit -n 320 && exec "${Deno.execPath()}" run -A "${main}"`],
    env: {
      PORT: "0",
      ROBUSTCHECK_MODELS_DIR: models,
      ROBUSTCHECK_BACKEND: "wasm",
      ROBUSTCHECK_THREADS: "1",
      ROBUSTCHECK_DECODE_WORKERS: "1",
      ROBUSTCHECK_DATA_DIR: data,
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  const conns: Deno.TcpConn[] = [];
  try {
    while (!log.includes('"msg":"listening"')) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`exited before listening: ${log}`);
      log += value;
    }
    const url = JSON.parse(log.split("\n").find((l) => l.includes('"msg":"listening"'))!).url as string;
    const port = Number(new URL(url).port);
    for (let i = 0; i < 500; i++) {
      // Past the server's limit, connects are refused or hang in the backlog: both are the flood.
      await Deno.connect({ hostname: "127.0.0.1", port }).then((c) => conns.push(c), () => {});
    }
    for (const c of conns.splice(0)) c.close();
    let status = 0;
    for (let attempt = 0; attempt < 40 && status !== 200; attempt++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await fetch(`${url}/healthz`).then(async (r) => (await r.body?.cancel(), r.status), () => 0);
    }
    assert.equal(status, 200, "answers again after the flood");
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /robustcheck_listener_restarts_total [1-9]/, "the accept loop did fail and was reopened");
    child.kill("SIGTERM");
    const rest = (async () => {
      while (!(await lines.read()).done) { /* drain */ }
    })();
    assert.equal((await child.status).code, 0);
    await rest;
  } finally {
    for (const c of conns) c.close();
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await Deno.remove(models, { recursive: true });
    await Deno.remove(data, { recursive: true });
  }
});
