/**
 * Section 5: k L∞ PGD steps as one session.run of the unrolled graph (src/autodiff/unroll.ts)
 * against k session.runs of the gradient graph with the step taken in JavaScript, as the attack
 * engine does now. Same Worker engines as section 1, interleaved; both must produce the same
 * iterate (checked, reported in the table).
 */
import { deriveGradientModel, formulationsFor } from "../src/autodiff/mod.ts";
import { unrollLinfSteps } from "../src/autodiff/unroll.ts";
import type { InferenceEngine } from "../src/runtime/engine.ts";
import type { TensorPayload } from "../src/runtime/protocol.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import { createRng } from "../kernels/rng.ts";
import type { BenchModel } from "./models.ts";
import { median } from "./stats.ts";

export interface UnrollCell {
  model: string;
  backend: string;
  batch: number;
  steps: number;
  loopMs: number;
  unrolledMs: number;
  /** Median over rounds of unrolled / loop measured back to back. */
  ratio: number;
  same: boolean;
  rounds: number;
}

// float32 α: the graph steps by the float32 value, so the JavaScript step must too.
const ALPHA = Math.fround(0.01), EPS = 0.03;

async function time(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export async function measureUnroll(
  engines: Map<string, InferenceEngine>,
  options: { models: BenchModel[]; batches: number[]; steps: number[]; budgetMs: number; log: (l: string) => void },
): Promise<UnrollCell[]> {
  const cells: UnrollCell[] = [];
  for (const model of options.models) {
    const path = `${model.dir}/manifest.json`;
    const { input, output } = parseManifest(await Deno.readTextFile(path), path);
    const bytes = await Deno.readFile(`${model.dir}/model.onnx`);
    const { channels: c, height: h, width: w } = input;
    for (const [backend, engine] of engines) {
      const formulations = formulationsFor(backend as "wasm" | "native");
      const gradient = deriveGradientModel(bytes, { input, output }, { loss: "ce", formulations }).bytes;
      const single = await engine.createSession(gradient);
      for (const steps of options.steps) {
        const unrolled = await engine.createSession(unrollLinfSteps(gradient, steps));
        for (const batch of options.batches) {
          const size = batch * c * h * w, dims = [batch, c, h, w];
          const rng = createRng(batch);
          const x0 = Float32Array.from({ length: size }, () => rng.next());
          const lower = x0.map((v) => Math.max(0, v - EPS)), upper = x0.map((v) => Math.min(1, v + EPS));
          const labels = (): TensorPayload => ({ type: "int64", data: new BigInt64Array(batch), dims: [batch] });
          const f32 = (data: Float32Array, d = dims): TensorPayload => ({
            type: "float32",
            data: data.slice(),
            dims: d,
          });
          let loopOut: Float32Array = x0, unrolledOut: Float32Array = x0;
          const loop = async () => {
            let x = x0;
            for (let t = 0; t < steps; t++) {
              const g = (await single.run({ pixels: f32(x), labels: labels() }, ["grad"])).grad.data as Float32Array;
              x = x.map((v, i) => Math.min(upper[i], Math.max(lower[i], Math.fround(v + ALPHA * Math.sign(g[i])))));
            }
            loopOut = x;
          };
          const fused = async () => {
            const out = await unrolled.run({
              pixels: f32(x0),
              labels: labels(),
              alpha: f32(new Float32Array(batch).fill(ALPHA), [batch, 1, 1, 1]),
              lower: f32(lower),
              upper: f32(upper),
            }, [`x_${steps}`]);
            unrolledOut = out[`x_${steps}`].data as Float32Array;
          };
          await loop();
          await fused();
          const same = loopOut.every((v, i) => v === unrolledOut[i]);
          const a: number[] = [], b: number[] = [], r: number[] = [];
          const started = performance.now();
          let round = 0;
          while (round < 3 || (round < 20 && performance.now() - started < options.budgetMs)) {
            const [ta, tb] = round % 2 === 0
              ? [await time(loop), await time(fused)]
              : [await time(fused), await time(loop)].reverse();
            a.push(ta);
            b.push(tb);
            r.push(tb / ta);
            round++;
          }
          const cell = {
            model: model.name,
            backend,
            batch,
            steps,
            loopMs: median(a),
            unrolledMs: median(b),
            ratio: median(r),
            same,
            rounds: round,
          };
          cells.push(cell);
          options.log(
            `  ${model.name} ${backend} batch ${batch} k=${steps}: loop ${cell.loopMs.toFixed(1)} ms, unrolled ${
              cell.unrolledMs.toFixed(1)
            } ms (${cell.ratio.toFixed(2)}×, same iterate: ${same})`,
          );
        }
        await unrolled.release();
      }
      await single.release();
    }
  }
  return cells;
}
