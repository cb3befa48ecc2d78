/**
 * Section 5, the service path: the same classifier loaded with and without the unrolled L∞ step graph
 * (src/runtime/unroll_plan.ts), measured where the service uses it — load time and resident memory, the default
 * per-image check (runCheck with the model's default options) and PGD-20 L∞ with 1…8 rows (restarts) — each pair
 * interleaved on one engine, with the results compared for equality.
 *
 * Standalone: `deno run -A bench/unroll_service.ts [--backends=wasm,native] [--images=N] [--big]`.
 */
import { pgd } from "../src/attacks/pgd.ts";
import { runCheck } from "../src/check/run_check.ts";
import { modelDefaultOptions } from "../src/check/service.ts";
import { DEFAULT_CHECK_LIMITS } from "../src/check/limits.ts";
import { decodeImage } from "../src/intake/decode.ts";
import { toModelPixels } from "../src/intake/to_pixels.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import type { InferenceEngine } from "../src/runtime/engine.ts";
import { loadClassifier, type OnnxClassifier } from "../src/runtime/onnx_classifier.ts";
import { UNROLLED_STEPS, type UnrollPlan } from "../src/runtime/unroll_plan.ts";
import type { BenchModel } from "./models.ts";
import { median } from "./stats.ts";

export interface UnrollServiceCell {
  model: string;
  backend: string;
  /** "load", "check" (default per-image check) or "pgd-20 ×r" (r rows). */
  work: string;
  loopMs: number;
  unrolledMs: number;
  /** Median over rounds of unrolled / loop measured back to back (load: one of each). */
  ratio: number;
  /** Load: extra resident MiB of the unrolled session; otherwise NaN. */
  extraMiB: number;
  same: boolean;
  rounds: number;
}

const FIXTURES = new URL("../tests/fixtures/", import.meta.url).pathname;

async function fixturePixels(model: BenchModel, manifest: OnnxClassifier["manifest"], count: number) {
  const set = manifest.input.channels === 1 ? "fashion" : "fashion-rgb";
  const labels: { file: string }[] = JSON.parse(await Deno.readTextFile(`${FIXTURES}${set}/labels.json`));
  const out: Float32Array[] = [];
  for (const { file } of labels.slice(0, count)) {
    const image = await decodeImage(await Deno.readFile(`${FIXTURES}${set}/${file}`), 1e7);
    out.push(toModelPixels(image, manifest.input).pixels);
  }
  if (out.length === 0) throw new Error(`no fixture images for ${model.name}`);
  return out;
}

const rssMiB = () => Deno.memoryUsage().rss / 2 ** 20;

/** Serialised without timings, to compare two runs' results. */
const stable = (value: unknown) =>
  JSON.stringify(value, (k, v) => (k === "timings" ? undefined : v instanceof Float32Array ? Array.from(v) : v));

export async function measureUnrollService(
  engines: Map<string, InferenceEngine>,
  options: {
    models: BenchModel[];
    images: number;
    /** PGD rows to measure (restarts of one image). */
    rows: number[];
    /** Per-model: skip the per-image check and PGD rows (load cost only, and PGD ×1). */
    loadOnly?: (model: BenchModel) => boolean;
    budgetMs: number;
    log: (line: string) => void;
  },
): Promise<UnrollServiceCell[]> {
  const cells: UnrollServiceCell[] = [];
  const push = (cell: UnrollServiceCell) => {
    cells.push(cell);
    options.log(
      `  ${cell.model} ${cell.backend} ${cell.work}: loop ${cell.loopMs.toFixed(1)} ms, unrolled ${
        cell.unrolledMs.toFixed(1)
      } ms (${cell.ratio.toFixed(2)}×${
        Number.isNaN(cell.extraMiB) ? "" : `, +${cell.extraMiB.toFixed(0)} MiB`
      }, same: ${cell.same})`,
    );
  };
  for (const model of options.models) {
    const path = `${model.dir}/manifest.json`;
    const manifest = parseManifest(await Deno.readTextFile(path), path);
    const modelBytes = await Deno.readFile(`${model.dir}/model.onnx`);
    for (const [backend, engine] of engines) {
      // Every model gets the graph here, whatever the plan says, so the plan can be checked against it.
      const forced: UnrollPlan = { loss: "ce", steps: UNROLLED_STEPS, maxRows: 64 };
      const load = async (unroll: UnrollPlan | false) => {
        const rss = rssMiB(), start = performance.now();
        const c = await loadClassifier({ engine, manifest, modelBytes, sha256: model.name, unroll });
        return { c, ms: performance.now() - start, mib: rssMiB() - rss };
      };
      const a = await load(false);
      const b = await load(forced);
      push({
        model: model.name,
        backend,
        work: "load",
        loopMs: a.ms,
        unrolledMs: b.ms,
        ratio: b.ms / a.ms,
        extraMiB: b.mib - a.mib,
        same: b.c.unrolledLinfSteps !== undefined,
        rounds: 1,
      });
      const loop = a.c, fused = b.c;
      try {
        const images = await fixturePixels(model, manifest, options.loadOnly?.(model) ? 1 : options.images);
        const interleave = async (work: string, runs: (c: OnnxClassifier, i: number) => Promise<unknown>) => {
          const a: number[] = [], b: number[] = [], r: number[] = [];
          let same = true, round = 0;
          const started = performance.now();
          while (round < 2 || (round < 3 * images.length && performance.now() - started < options.budgetMs)) {
            const i = round % images.length;
            const time = async (c: OnnxClassifier) => {
              const t0 = performance.now();
              const out = await runs(c, i);
              return { ms: performance.now() - t0, out: stable(out) };
            };
            const [x, y] = round % 2 === 0
              ? [await time(loop), await time(fused)]
              : [await time(fused), await time(loop)]
                .reverse() as [{ ms: number; out: string }, { ms: number; out: string }];
            same &&= x.out === y.out;
            a.push(x.ms);
            b.push(y.ms);
            r.push(y.ms / x.ms);
            round++;
          }
          push({
            model: model.name,
            backend,
            work,
            loopMs: median(a),
            unrolledMs: median(b),
            ratio: median(r),
            extraMiB: NaN,
            same,
            rounds: round,
          });
        };
        const label = async (c: OnnxClassifier, i: number) => {
          const z = await c.logits(images[i], 1);
          return z.indexOf(Math.max(...z));
        };
        const grey = manifest.input.channels === 1;
        const eps = grey ? 0.1 : 8 / 255;
        const rowsList = options.loadOnly?.(model) ? [1] : options.rows;
        for (const rows of rowsList) {
          await interleave(`pgd-20 ×${rows}`, async (c, i) =>
            pgd(c, images[i], {
              norm: "linf",
              eps,
              alpha: 2.5 * eps / 20,
              steps: 20,
              randomStart: rows > 1,
              restarts: rows,
              loss: "ce",
              seed: i,
              labels: [await label(c, i)],
            }));
        }
        if (!options.loadOnly?.(model)) {
          const defaults = modelDefaultOptions({ manifest, gradientMode: loop.gradientMode });
          await interleave("check", (c, i) =>
            runCheck({
              classifier: c,
              pixels: images[i],
              options: { ...defaults, seed: i },
              threshold: { value: null, source: "none" },
              budget: DEFAULT_CHECK_LIMITS.maxCost,
            }));
        }
      } finally {
        await loop.release();
        await fused.release();
      }
    }
  }
  return cells;
}

if (import.meta.main) {
  const { startEngines } = await import("./gradient_cost.ts");
  const { SHIPPED, CACHE_DIR } = await import("./models.ts");
  const { loadAverage } = await import("./machine.ts");
  const arg = (name: string, fallback: string) =>
    Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=", 2)[1] ?? fallback;
  const big = Deno.args.includes("--big");
  const backends = arg("backends", "wasm,native").split(",");
  const notes: string[] = [];
  const engines = await startEngines(backends, notes);
  console.log(`load average at start: ${await loadAverage()} ${notes.join("; ")}`);
  const models: BenchModel[] = big
    ? [
      { name: "resnet18", dir: `${CACHE_DIR}/resnet18`, arch: "resnet18" },
      { name: "mobilenet_v2", dir: `${CACHE_DIR}/mobilenet_v2`, arch: "mobilenet_v2" },
    ]
    : SHIPPED;
  try {
    await measureUnrollService(engines, {
      models,
      images: Number(arg("images", "10")),
      rows: arg("rows", "1,2,4,8").split(",").map(Number),
      loadOnly: () => big,
      budgetMs: Number(arg("budget", "6000")),
      log: console.log,
    });
  } finally {
    for (const e of engines.values()) e.close();
  }
  console.log(`load average at end: ${await loadAverage()}`);
}
