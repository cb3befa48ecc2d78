/**
 * Where the time of a derived gradient graph goes, by ONNX op type (onnxruntime-node profiling).
 * Not part of `deno task bench`; a diagnostic for when fwd+grad / fwd is far above 2–3×:
 *
 *   deno run -A bench/profile_gradient.ts <model folder> [batch=16] [runs=3] [maxPool=indices|mask] [threads=2]
 *
 * The gradient graph is derived with the native backend's formulations (formulationsFor("native")).
 */
import * as ort from "onnxruntime-node";
import { deriveGradientModel, formulationsFor } from "../src/autodiff/mod.ts";
import { parseManifest } from "../src/registry/load_manifest.ts";
import { toModelInput } from "../kernels/preprocess.ts";
import { markdownTable } from "./table.ts";
import { ms } from "./stats.ts";

interface ProfileEvent {
  cat: string;
  name: string;
  dur: number;
  ts: number;
  args?: { op_name?: string };
}

/** Mean kernel microseconds per run by op type, over `runs` runs after one warm-up run. */
async function profile(
  bytes: Uint8Array,
  feeds: Record<string, ort.Tensor>,
  runs: number,
  threads: number,
): Promise<Map<string, number>> {
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-profile-" });
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableProfiling: true,
    profileFilePrefix: `${dir}/run`,
  });
  for (let i = 0; i <= runs; i++) await session.run(feeds);
  // onnxruntime-node writes <prefix>_<timestamp>.json when profiling ends and returns no name.
  (session as unknown as { endProfiling(): void }).endProfiling();
  await session.release();
  const [file] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
  const events: ProfileEvent[] = JSON.parse(await Deno.readTextFile(file));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  // The first run (arena allocation, first-touch) is the warm-up: skip node events inside it.
  const first = events.filter((e) => e.name === "model_run").sort((a, b) => a.ts - b.ts)[0];
  const warmEnd = first ? first.ts + first.dur : -Infinity;
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || e.ts < warmEnd) continue;
    const op = e.args?.op_name ?? "?";
    byOp.set(op, (byOp.get(op) ?? 0) + e.dur / runs);
  }
  return byOp;
}

async function main(): Promise<void> {
  const [dir, batchArg = "16", runsArg = "3", maxPool = "indices", threadsArg = "2"] = Deno.args;
  const threads = Number(threadsArg);
  if (maxPool !== "indices" && maxPool !== "mask") throw new Error(`maxPool must be indices or mask, not ${maxPool}`);
  if (!dir) throw new Error("usage: profile_gradient.ts <model folder> [batch] [runs]");
  const manifest = parseManifest(await Deno.readTextFile(`${dir}/manifest.json`), `${dir}/manifest.json`);
  const bytes = await Deno.readFile(`${dir}/model.onnx`);
  const batch = Number(batchArg);
  const runs = Number(runsArg);
  const { input, output } = manifest;
  const { channels: c, height: h, width: w } = input;
  const pixels = Float32Array.from({ length: batch * c * h * w }, (_, i) => (i * 7919 % 1000) / 1000);
  const dims = input.layout === "NCHW" ? [batch, c, h, w] : [batch, h, w, c];
  const fwd = await profile(
    bytes,
    {
      [input.name]: new ort.Tensor("float32", toModelInput(pixels, { n: batch, spec: input }), dims),
    },
    runs,
    threads,
  );
  const derived = deriveGradientModel(bytes, { input, output }, {
    loss: "ce",
    maxPool,
    formulations: formulationsFor("native"),
  });
  const grad = await profile(
    derived.bytes,
    {
      pixels: new ort.Tensor("float32", pixels, [batch, c, h, w]),
      labels: new ort.Tensor("int64", BigInt64Array.from({ length: batch }, () => 0n), [batch]),
    },
    runs,
    threads,
  );
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const ops = [...new Set([...fwd.keys(), ...grad.keys()])].sort((a, b) => (grad.get(b) ?? 0) - (grad.get(a) ?? 0));
  console.log(
    `${dir} batch ${batch}: forward ${ms(total(fwd) / 1000)} ms, gradient graph ${ms(total(grad) / 1000)} ms ` +
      `(kernel time, onnxruntime-node, ${threads} threads, MaxPool gradient via ${maxPool})`,
  );
  console.log(markdownTable(
    ["op", "forward ms", "gradient graph ms", "share of gradient graph"],
    ops.map((op) => [
      op,
      ms((fwd.get(op) ?? 0) / 1000),
      ms((grad.get(op) ?? 0) / 1000),
      `${(100 * (grad.get(op) ?? 0) / total(grad)).toFixed(1)}%`,
    ]),
  ));
}

if (import.meta.main) await main();
