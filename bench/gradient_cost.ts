/**
 * Section 1: cost of a gradient relative to a forward pass, through the service's own path
 * (startWorkerPool + loadClassifier). Every measurement of one (model, batch) cell is interleaved
 * round-robin with the others — each backend's forward and forward+gradient, and PyTorch's — so
 * drift and noise on the shared machine land on all of them alike; ratios are medians of the
 * per-round ratios.
 */
import { loadClassifier, type OnnxClassifier } from "../src/runtime/onnx_classifier.ts";
import { startWorkerPool } from "../src/runtime/worker_pool.ts";
import type { InferenceEngine } from "../src/runtime/engine.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import { sha256Hex } from "../src/registry/registry.ts";
import { createRng } from "../kernels/rng.ts";
import type { BenchModel } from "./models.ts";
import { median, settle } from "./stats.ts";
import type { TorchClient } from "./torch_client.ts";

export const BATCHES = [1, 16] as const;
export const THREADS = 2;

export interface GradientCostCell {
  model: string;
  /** "wasm", "native" or "pytorch". */
  runtime: string;
  batch: number;
  fwdMs: number;
  gradMs: number;
  /** Median over rounds of gradMs/fwdMs measured back to back. */
  ratio: number;
  rounds: number;
}

export interface ModelGradientInfo {
  model: string;
  runtime: string;
  mode: string;
  buildMs: number | undefined;
  reason?: string;
}

export interface GradientCostResult {
  cells: GradientCostCell[];
  info: ModelGradientInfo[];
  notes: string[];
}

export interface GradientCostOptions {
  models: BenchModel[];
  backends: string[];
  torches: TorchClient[];
  /** Wall-clock budget per (model, batch) cell for the measured rounds. */
  cellBudgetMs: (model: BenchModel, batch: number) => number;
  batches?: readonly number[];
  log: (line: string) => void;
}

interface Probe {
  runtime: string;
  fwd: () => Promise<number>;
  grad: () => Promise<number>;
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export async function startEngines(backends: string[], notes: string[]): Promise<Map<string, InferenceEngine>> {
  const engines = new Map<string, InferenceEngine>();
  for (const backend of backends) {
    try {
      const engine = await startWorkerPool({ backend: backend as "wasm" | "native", threads: THREADS, workers: 1 });
      engines.set(engine.backend, engine);
    } catch (error) {
      notes.push(`backend ${backend} did not start: ${(error as Error).message}`);
    }
  }
  return engines;
}

export async function measureGradientCost(
  engines: Map<string, InferenceEngine>,
  options: GradientCostOptions,
): Promise<GradientCostResult> {
  const cells: GradientCostCell[] = [];
  const info: ModelGradientInfo[] = [];
  const notes: string[] = [];
  const { torches, log } = options;

  for (const model of options.models) {
    const manifestPath = `${model.dir}/manifest.json`;
    const manifest = parseManifest(await Deno.readTextFile(manifestPath), manifestPath);
    const bytes = await Deno.readFile(`${model.dir}/model.onnx`);
    const sha256 = await sha256Hex(bytes);
    const classifiers: [string, OnnxClassifier][] = [];
    for (const [backend, engine] of engines) {
      try {
        const c = await loadClassifier({ engine, manifest, modelBytes: bytes, sha256 });
        info.push({
          model: model.name,
          runtime: backend,
          mode: c.gradientMode,
          buildMs: c.gradientInfo.buildMs.ce,
          reason: c.gradientInfo.reason,
        });
        if (c.gradientMode !== "exact") {
          notes.push(
            `BUG? ${model.name} on ${backend} fell back to SPSA (${c.gradientInfo.reason ?? "no reason given"}); ` +
              "not timed",
          );
          await c.release();
          continue;
        }
        classifiers.push([backend, c]);
      } catch (error) {
        notes.push(`${model.name} did not load on ${backend}: ${(error as Error).message}`);
      }
    }
    const loadedTorches: TorchClient[] = [];
    for (const torch of torches) {
      try {
        await torch.request({
          cmd: "load",
          id: model.name,
          arch: model.arch,
          onnx: `${model.dir}/model.onnx`,
          manifest: manifestPath,
        });
        loadedTorches.push(torch);
      } catch (error) {
        notes.push(`${model.name} did not load in ${torch.name}: ${(error as Error).message}`);
      }
    }

    const { channels, height, width } = manifest.input;
    const classes = manifest.labels.length;
    for (const batch of options.batches ?? BATCHES) {
      const rng = createRng(batch);
      const pixels = Float32Array.from({ length: batch * channels * height * width }, () => rng.next());
      const labels = Int32Array.from({ length: batch }, () => Math.floor(rng.next() * classes));
      const probes: Probe[] = classifiers.map(([backend, c]) => ({
        runtime: backend,
        fwd: () => time(() => c.logits(pixels, batch)),
        grad: () => time(() => c.gradient(pixels, batch, labels, "ce")),
      }));
      for (const torch of loadedTorches) {
        const ask = (cmd: string) => async () =>
          (await torch.request<{ ms: number }>({ cmd, id: model.name, batch })).ms;
        probes.push({ runtime: torch.name, fwd: ask("fwd"), grad: ask("grad") });
      }
      // Warm-up: first runs allocate arenas and JIT; not recorded.
      for (const p of probes) {
        await p.fwd();
        await p.grad();
      }
      const samples = probes.map(() => ({ fwd: [] as number[], grad: [] as number[], ratio: [] as number[] }));
      const budget = options.cellBudgetMs(model, batch);
      const started = performance.now();
      let round = 0;
      while (round < 3 || (round < 30 && performance.now() - started < budget)) {
        // Rotate the order (and fwd/grad order) each round so no runtime always runs first.
        for (let k = 0; k < probes.length; k++) {
          const i = (k + round) % probes.length;
          const p = probes[i];
          await settle();
          let f: number, g: number;
          if (round % 2 === 0) {
            f = await p.fwd();
            g = await p.grad();
          } else {
            g = await p.grad();
            f = await p.fwd();
          }
          samples[i].fwd.push(f);
          samples[i].grad.push(g);
          samples[i].ratio.push(g / f);
        }
        round++;
      }
      probes.forEach((p, i) => {
        const cell: GradientCostCell = {
          model: model.name,
          runtime: p.runtime,
          batch,
          fwdMs: median(samples[i].fwd),
          gradMs: median(samples[i].grad),
          ratio: median(samples[i].ratio),
          rounds: round,
        };
        cells.push(cell);
        log(
          `  ${model.name} ${p.runtime} batch ${batch}: fwd ${cell.fwdMs.toFixed(1)} ms, fwd+grad ${
            cell.gradMs.toFixed(1)
          } ms, ratio ${cell.ratio.toFixed(2)} (${round} rounds)`,
        );
      });
    }
    for (const [, c] of classifiers) await c.release();
  }
  return { cells, info, notes };
}
