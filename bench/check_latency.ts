/**
 * Section 2: latency of the DEFAULT check (no options) through the real HTTP API, one in-process
 * server per (backend, threads) on a loopback port (as tests/support/server.ts starts them), interleaved
 * image by image with the same check in PyTorch eager (tools/bench_torch.py).
 */
import { loadConfig } from "../src/config.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import type { SHIPPED } from "./models.ts";
import { MODELS_DIR } from "./models.ts";
import { median, quantile, settle } from "./stats.ts";
import type { TorchClient } from "./torch_client.ts";
import { THREADS } from "./gradient_cost.ts";

const FIXTURES = new URL("../tests/fixtures/", import.meta.url).pathname;

export const STAGES = [
  "predictionMs",
  "squeezeMs",
  "randomizationMs",
  "eotMs",
  "fgsmMs",
  "pgdMs",
  "minimalEpsilonMs",
  "totalMs",
] as const;

export interface LatencySeries {
  model: string;
  /** "wasm", "native" or "pytorch". */
  runtime: string;
  /** Per image: wall time as the client sees it (HTTP round trip for robustcheck). */
  latencyMs: number[];
  /** Per image: the check's own stage timings (report.timings / bench_torch.py). */
  timings: Record<string, number>[];
  /** Predicted class per image (to confirm both sides run the same weights). */
  predictions: number[];
}

export interface LatencySummary {
  model: string;
  runtime: string;
  images: number;
  p50: number;
  p95: number;
  /** Median per stage. */
  stages: Record<string, number>;
}

export function summarize(s: LatencySeries): LatencySummary {
  const stages: Record<string, number> = {};
  for (const key of [...STAGES, "decodeMs", "requestMs"]) {
    const values = s.timings.map((t) => t[key]).filter((v) => typeof v === "number");
    if (values.length > 0) stages[key] = median(values);
  }
  return {
    model: s.model,
    runtime: s.runtime,
    images: s.latencyMs.length,
    p50: median(s.latencyMs),
    p95: quantile(s.latencyMs, 0.95),
    stages,
  };
}

export interface ServerVariant {
  backend: string;
  /** ROBUSTCHECK_THREADS. */
  threads: number;
}

interface Server extends RunningServer {
  /** Runtime name in the tables: the backend, suffixed "-1t" etc. when not at THREADS. */
  name: string;
  url: string;
  dataDir: string;
}

/**
 * One in-process server per variant serving the shipped models; `env` overrides the configuration (e.g.
 * ROBUSTCHECK_MODELS_DIR for another models folder).
 */
export async function startServers(
  variants: ServerVariant[],
  notes: string[],
  env: Record<string, string> = {},
): Promise<Server[]> {
  const servers: Server[] = [];
  for (const { backend, threads } of variants) {
    const name = threads === THREADS ? backend : `${backend}-${threads}t`;
    const dataDir = await Deno.makeTempDir({ prefix: "robustcheck-bench-data-" });
    try {
      const config = loadConfig({
        PORT: "0",
        HOSTNAME: "127.0.0.1",
        ROBUSTCHECK_BACKEND: backend,
        ROBUSTCHECK_THREADS: String(threads),
        ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
        ROBUSTCHECK_DATA_DIR: dataDir,
        ...env,
      });
      const server = await startServer(config, () => {});
      const failures = server.registry.failures;
      if (failures.length > 0) notes.push(`${name} server: models not loaded: ${JSON.stringify(failures)}`);
      servers.push({ ...server, name, url: `http://127.0.0.1:${server.port}`, dataDir });
    } catch (error) {
      notes.push(`${name} server did not start: ${(error as Error).message}`);
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  }
  return servers;
}

export async function stopServers(servers: Server[]): Promise<void> {
  for (const s of servers) {
    await s.shutdown();
    await Deno.remove(s.dataDir, { recursive: true }).catch(() => {});
  }
}

interface Runner {
  runtime: string;
  run(file: string, bytes: Uint8Array): Promise<{ ms: number; timings: Record<string, number>; prediction: number }>;
}

function httpRunner(server: Server, modelId: string): Runner {
  return {
    runtime: server.name,
    async run(_file, bytes) {
      const start = performance.now();
      const response = await fetch(`${server.url}/v1/models/${modelId}/check`, {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: bytes as Uint8Array<ArrayBuffer>,
      });
      const body = await response.json();
      const ms = performance.now() - start;
      if (!response.ok) {
        throw new Error(`${server.name} ${modelId}: HTTP ${response.status} ${JSON.stringify(body)}`);
      }
      return { ms, timings: body.timings, prediction: body.prediction.index };
    },
  };
}

function torchRunner(torch: TorchClient, modelId: string): Runner {
  return {
    runtime: torch.name,
    async run(file) {
      const reply = await torch.request<{ timings: Record<string, number>; label: number }>({
        cmd: "check",
        id: modelId,
        image: file,
      });
      return { ms: reply.timings.totalMs, timings: reply.timings, prediction: reply.label };
    },
  };
}

export interface CheckLatencyOptions {
  models: typeof SHIPPED;
  servers: Server[];
  torches: TorchClient[];
  images: number;
  /** Per model: stop adding images after this long (at least `minImages` are always run). */
  modelBudgetMs: number;
  minImages: number;
  log: (line: string) => void;
}

export async function measureCheckLatency(options: CheckLatencyOptions): Promise<{
  series: LatencySeries[];
  notes: string[];
}> {
  const series: LatencySeries[] = [];
  const notes: string[] = [];
  const { torches, log } = options;
  for (const model of options.models) {
    const runners = options.servers.map((s) => httpRunner(s, model.id));
    for (const torch of torches) {
      try {
        await torch.request({
          cmd: "load",
          id: model.id,
          arch: model.arch,
          onnx: `${model.dir}/model.onnx`,
          manifest: `${model.dir}/manifest.json`,
        });
        runners.push(torchRunner(torch, model.id));
      } catch (error) {
        notes.push(`${model.id} did not load in ${torch.name}: ${(error as Error).message}`);
      }
    }
    const dir = `${FIXTURES}${model.fixtures}/`;
    const labels: { file: string }[] = JSON.parse(await Deno.readTextFile(`${dir}labels.json`));
    const files = labels.slice(0, options.images).map((l) => `${dir}${l.file}`);
    const images = await Promise.all(files.map(async (f) => ({ file: f, bytes: await Deno.readFile(f) })));
    const own = runners.map((r): LatencySeries => ({
      model: model.id,
      runtime: r.runtime,
      latencyMs: [],
      timings: [],
      predictions: [],
    }));
    // Warm-up on the last fixture of the set (not one of the measured images).
    const warm = `${dir}${labels.at(-1)!.file}`;
    for (const r of runners) await r.run(warm, await Deno.readFile(warm));
    const started = performance.now();
    for (const [i, image] of images.entries()) {
      if (i >= options.minImages && performance.now() - started > options.modelBudgetMs) {
        notes.push(`${model.id}: time budget reached after ${i} of ${images.length} images`);
        break;
      }
      for (let k = 0; k < runners.length; k++) {
        const j = (k + i) % runners.length;
        await settle();
        const out = await runners[j].run(image.file, image.bytes);
        own[j].latencyMs.push(out.ms);
        own[j].timings.push(out.timings);
        own[j].predictions.push(out.prediction);
      }
    }
    for (const s of own) {
      const sum = summarize(s);
      log(
        `  ${model.id} ${s.runtime}: p50 ${sum.p50.toFixed(0)} ms, p95 ${sum.p95.toFixed(0)} ms (${sum.images} images)`,
      );
    }
    // Same weights on every side means the same predicted class on every image.
    const reference = own[0];
    let disagreements = 0;
    for (const s of own.slice(1)) {
      const differ = s.predictions.filter((p, i) => p !== reference.predictions[i]).length;
      disagreements += differ;
      if (differ > 0) {
        notes.push(
          `${model.id}: ${s.runtime} predicts a different class than ${reference.runtime} on ${differ} images`,
        );
      }
    }
    if (disagreements === 0 && own.length > 1) {
      notes.push(`${model.id}: ${own.map((s) => s.runtime).join(", ")} predict the same class on every image`);
    }
    series.push(...own);
  }
  return { series, notes };
}
