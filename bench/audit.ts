/**
 * Audit throughput: `deno run -A bench/audit.ts [--images=64] [--backends=wasm,native] [--workers=1,2] [--no-torch]`
 *
 * Audits N images of the builtin sample on fashion-cnn with a fixed plan (FGSM + PGD-10 L∞ at 3 ε +
 * the minimal-ε search, shards of 32) through an API process without workers and k `deno task worker`
 * processes on one PostgreSQL (ROBUSTCHECK_BENCH_DATABASE_URL, else ROBUSTCHECK_TEST_DATABASE_URL),
 * timed from POST to done with the workers already up; next to the same plan in PyTorch eager batched
 * the same way (tools/bench_audit_torch.py, same images and threads). Prints a markdown table.
 */
import { parseArgs } from "node:util";
import { loadAverage } from "./machine.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const EPS = [0.05, 0.1, 0.25];
const PLAN = {
  shardSize: 32,
  attacks: [{ kind: "fgsm", eps: EPS }, { kind: "pgd", norm: "linf", eps: EPS, steps: 10 }],
  minimalEpsilon: { high: 0.5, bisectionSteps: 8, steps: 10 },
  squeeze: false,
  randomization: false,
  spsa: false,
  examples: 0,
};

function spawn(file: string, env: Record<string, string>, ready: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", file],
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const up = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      if (buffer.includes(ready)) return buffer;
    }
    throw new Error(`${file} exited: ${buffer}`);
  })();
  return { child, up };
}

async function auditSeconds(url: string, backend: string, workers: number, images: number, threads: number) {
  const schema = `bench_${crypto.randomUUID().replaceAll("-", "")}`;
  const dbUrl = new URL(url);
  dbUrl.searchParams.set("options", `-c search_path=${schema}`);
  const { openPostgres } = await import("../src/storage/postgres.ts");
  const admin = await openPostgres(url, { maxConnections: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const env = {
    ROBUSTCHECK_DATABASE_URL: dbUrl.toString(),
    ROBUSTCHECK_BACKEND: backend,
    ROBUSTCHECK_THREADS: String(threads),
    PORT: "0",
    HOSTNAME: "127.0.0.1",
  };
  const api = spawn("main.ts", { ...env, ROBUSTCHECK_AUDIT_WORKERS: "0" }, '"msg":"listening"');
  const procs = [api];
  try {
    const port = Number(/"msg":"listening","url":"http:\/\/[^:]+:(\d+)/.exec(await api.up)![1]);
    for (let k = 0; k < workers; k++) {
      procs.push(spawn("worker.ts", { ...env, ROBUSTCHECK_AUDIT_WORKERS: "1" }, '"msg":"worker started"'));
    }
    await Promise.all(procs.slice(1).map((p) => p.up));
    const start = performance.now();
    const created = await (await fetch(`http://127.0.0.1:${port}/v1/audits`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "fashion-cnn",
        dataset: { builtin: "fashion-mnist-sample" },
        plan: { ...PLAN, subsample: { size: images } },
      }),
    })).json();
    while (true) {
      const view = await (await fetch(`http://127.0.0.1:${port}/v1/audits/${created.id}`)).json();
      if (view.status === "done") break;
      if (view.status !== "running" && view.status !== "queued") throw new Error(`audit ${view.status}: ${view.error}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return (performance.now() - start) / 1000;
  } finally {
    for (const p of procs) {
      p.child.kill("SIGTERM");
      await p.child.status;
    }
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
    await admin.query(`DROP SCHEMA IF EXISTS ${schema}_pgboss CASCADE`);
    await admin.close();
  }
}

async function torchSeconds(images: number, threads: number): Promise<number> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      "tools/bench_audit_torch.py",
      "models/fashion-cnn",
      "datasets/fashion-mnist-sample",
      String(images),
      "32",
      String(threads),
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("tools/bench_audit_torch.py failed");
  return JSON.parse(new TextDecoder().decode(out.stdout)).seconds;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      images: { type: "string", default: "64" },
      backends: { type: "string", default: "wasm,native" },
      workers: { type: "string", default: "1,2" },
      "no-torch": { type: "boolean" },
    },
  });
  const url = Deno.env.get("ROBUSTCHECK_BENCH_DATABASE_URL") ?? Deno.env.get("ROBUSTCHECK_TEST_DATABASE_URL");
  if (!url) {
    console.error("set ROBUSTCHECK_BENCH_DATABASE_URL (or ROBUSTCHECK_TEST_DATABASE_URL) to a PostgreSQL database");
    Deno.exit(2);
  }
  const images = Number(values.images);
  // Each process gets the same thread count torch gets.
  const threads = 1;
  const before = await loadAverage();
  const torch = values["no-torch"] ? null : await torchSeconds(images, threads);
  const rows: string[] = [];
  if (torch !== null) rows.push(`| PyTorch eager | 1 | ${(images / torch).toFixed(2)} | 1.00 |`);
  for (const backend of values.backends!.split(",")) {
    for (const workers of values.workers!.split(",").map(Number)) {
      const seconds = await auditSeconds(url, backend, workers, images, threads);
      const rate = images / seconds;
      const ratio = torch === null ? "—" : (rate / (images / torch)).toFixed(2);
      rows.push(`| robustcheck ${backend} | ${workers} | ${rate.toFixed(2)} | ${ratio} |`);
    }
  }
  console.log(
    `Audit throughput: ${images} images of fashion-mnist-sample on fashion-cnn, FGSM + PGD-10 L∞ at ${
      EPS.join(", ")
    } + minimal ε, shards of 32, ${threads} thread per process; load average before ${before}, after ${await loadAverage()}\n`,
  );
  console.log("| engine | worker processes | images/s | ratio to PyTorch |\n| --- | --- | --- | --- |");
  console.log(rows.join("\n"));
}
