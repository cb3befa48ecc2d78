/**
 * Section 3: backward formulations side by side. For each model, backend and batch, the forward
 * model and several derived gradient graphs (the defaults, the formulations they replaced, and each
 * alternative alone) run as sessions of the same Worker engine, interleaved round-robin, so the
 * ratios between them are measured under the same load. Graphs identical to an earlier variant
 * are not timed twice.
 */
import { deriveGradientModel, type Formulations, formulationsFor, type MaxPoolMode } from "../src/autodiff/mod.ts";
import type { InferenceEngine, SessionHandle } from "../src/runtime/engine.ts";
import type { TensorPayload } from "../src/runtime/protocol.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import { toModelInput } from "../kernels/preprocess.ts";
import { createRng } from "../kernels/rng.ts";
import type { BenchModel } from "./models.ts";
import { median } from "./stats.ts";

export interface Variant {
  name: string;
  maxPool?: MaxPoolMode;
  formulations?: Partial<Formulations>;
}

/**
 * What is timed on `backend`: "before" is the graph the service derived before these
 * formulations existed, "service" what it derives now (formulationsFor), then each alternative.
 */
export function variantsFor(backend: "wasm" | "native"): Variant[] {
  const service = formulationsFor(backend);
  return [
    {
      name: "before",
      formulations: {
        tiledMaxPool: "generic",
        tiledAveragePool: "generic",
        stridedConv: "transpose",
        maskPool: "compare",
        maxPoolSpread: "scatter",
        stridedDepthwise: "transpose",
        clipMask: "where",
      },
    },
    { name: "service", formulations: service },
    { name: "tiled MaxPool: tiles", formulations: { ...service, tiledMaxPool: "tiles" } },
    { name: "tiled MaxPool: priority", formulations: { ...service, tiledMaxPool: "priority" } },
    { name: "tiled MaxPool: generic", formulations: { ...service, tiledMaxPool: "generic" } },
    { name: "tiled AveragePool: generic", formulations: { ...service, tiledAveragePool: "generic" } },
    { name: "strided Conv: subPixel", formulations: { ...service, stridedConv: "subPixel" } },
    { name: "strided depthwise: transpose", formulations: { ...service, stridedDepthwise: "transpose" } },
    { name: "MaxPool mode: mask", maxPool: "mask", formulations: service },
    { name: "MaxPool spread: scatter", formulations: { ...service, maxPoolSpread: "scatter" } },
    { name: "clip mask: where", formulations: { ...service, clipMask: "where" } },
    { name: "clip mask: cast", formulations: { ...service, clipMask: "cast" } },
    { name: "clip mask: sign", formulations: { ...service, clipMask: "sign" } },
  ];
}

export interface FormulationCell {
  model: string;
  backend: string;
  batch: number;
  variant: string;
  fwdMs: number;
  gradMs: number;
  /** Median over rounds of gradMs / fwdMs measured back to back. */
  ratio: number;
  /** Median over rounds of gradMs / the "before" graph's gradMs. */
  vsBefore: number;
  /** Variants whose derived graph is byte-identical to this one. */
  same: string[];
  rounds: number;
}

export interface FormulationOptions {
  models: BenchModel[];
  batches: (model: BenchModel, backend: string) => number[];
  cellBudgetMs: (model: BenchModel, batch: number) => number;
  log: (line: string) => void;
}

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export async function measureFormulations(
  engines: Map<string, InferenceEngine>,
  options: FormulationOptions,
): Promise<FormulationCell[]> {
  const cells: FormulationCell[] = [];
  for (const model of options.models) {
    const manifestPath = `${model.dir}/manifest.json`;
    const { input, output } = parseManifest(await Deno.readTextFile(manifestPath), manifestPath);
    const bytes = await Deno.readFile(`${model.dir}/model.onnx`);
    const { channels: c, height: h, width: w } = input;
    for (const [backend, engine] of engines) {
      const graphs: { variant: Variant; bytes: Uint8Array; same: string[] }[] = [];
      for (const variant of variantsFor(backend as "wasm" | "native")) {
        const derived = deriveGradientModel(bytes, { input, output }, {
          loss: "ce",
          maxPool: variant.maxPool,
          formulations: variant.formulations,
        }).bytes;
        const twin = graphs.find((g) => sameBytes(g.bytes, derived));
        if (twin) twin.same.push(variant.name);
        else graphs.push({ variant, bytes: derived, same: [] });
      }
      const forward = await engine.createSession(bytes);
      const sessions: SessionHandle[] = [];
      for (const g of graphs) sessions.push(await engine.createSession(g.bytes));
      for (const batch of options.batches(model, backend)) {
        const rng = createRng(batch);
        const pixels = Float32Array.from({ length: batch * c * h * w }, () => rng.next());
        const modelDims = input.layout === "NCHW" ? [batch, c, h, w] : [batch, h, w, c];
        const modelInput = toModelInput(pixels, { n: batch, spec: input });
        // Feeds are transferred to the Worker, so each run gets fresh copies.
        const fwdFeeds = (): Record<string, TensorPayload> => ({
          [input.name]: { type: "float32", data: modelInput.slice(), dims: modelDims },
        });
        const gradFeeds = (): Record<string, TensorPayload> => ({
          pixels: { type: "float32", data: pixels.slice(), dims: [batch, c, h, w] },
          labels: { type: "int64", data: new BigInt64Array(batch), dims: [batch] },
        });
        const fwd = () => time(() => forward.run(fwdFeeds(), [output.name]));
        const grads = sessions.map((s) => () => time(() => s.run(gradFeeds(), ["logits", "loss", "grad"])));
        await fwd();
        for (const g of grads) await g();
        const samples = grads.map(() => ({ fwd: [] as number[], grad: [] as number[], ratio: [] as number[] }));
        const vsBefore = grads.map(() => [] as number[]);
        const budget = options.cellBudgetMs(model, batch);
        const started = performance.now();
        let round = 0;
        while (round < 3 || (round < 30 && performance.now() - started < budget)) {
          const times = new Array<number>(grads.length);
          for (let k = 0; k < grads.length; k++) {
            const i = (k + round) % grads.length;
            const f = await fwd();
            const g = await grads[i]();
            times[i] = g;
            samples[i].fwd.push(f);
            samples[i].grad.push(g);
            samples[i].ratio.push(g / f);
          }
          times.forEach((t, i) => vsBefore[i].push(t / times[0]));
          round++;
        }
        graphs.forEach((g, i) => {
          const cell: FormulationCell = {
            model: model.name,
            backend,
            batch,
            variant: g.variant.name,
            fwdMs: median(samples[i].fwd),
            gradMs: median(samples[i].grad),
            ratio: median(samples[i].ratio),
            vsBefore: median(vsBefore[i]),
            same: g.same,
            rounds: round,
          };
          cells.push(cell);
          options.log(
            `  ${model.name} ${backend} batch ${batch} ${cell.variant}: fwd ${cell.fwdMs.toFixed(1)} ms, ` +
              `fwd+grad ${cell.gradMs.toFixed(1)} ms, ×fwd ${cell.ratio.toFixed(2)}, ×before ${
                cell.vsBefore.toFixed(2)
              } (${round} rounds)`,
          );
        });
      }
      for (const s of sessions) await s.release();
      await forward.release();
    }
  }
  return cells;
}
