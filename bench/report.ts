/** Renders the measurements as markdown: printed by `deno task bench`, written by `--write`. */
import type { GradientCostCell, ModelGradientInfo } from "./gradient_cost.ts";
import type { LatencySummary } from "./check_latency.ts";
import type { Machine } from "./machine.ts";
import type { FormulationCell } from "./formulations.ts";
import type { KernelCell } from "./kernels.ts";
import { markdownTable } from "./table.ts";
import { ms, ratio } from "./stats.ts";

export interface BenchResults {
  machine: Machine;
  loadAfter: string;
  elapsedS: number;
  images: number;
  gradient: { cells: GradientCostCell[]; info: ModelGradientInfo[] };
  latency: LatencySummary[];
  formulations: FormulationCell[];
  kernels: KernelCell[];
  notes: string[];
}

const STAGE_COLUMNS: [string, string][] = [
  ["predictionMs", "predict"],
  ["squeezeMs", "squeeze"],
  ["randomizationMs", "random."],
  ["eotMs", "EoT-PGD"],
  ["fgsmMs", "FGSM"],
  ["pgdMs", "PGD"],
  ["minimalEpsilonMs", "min-ε"],
  ["totalMs", "total"],
];

const isTorch = (runtime: string) => runtime.startsWith("pytorch");

export function gradientTable(cells: GradientCostCell[]): string {
  const find = (c: GradientCostCell, runtime: string) =>
    cells.find((t) => t.runtime === runtime && t.model === c.model && t.batch === c.batch);
  const vs = (c: GradientCostCell, runtime: string, key: "fwdMs" | "gradMs") => {
    const t = isTorch(c.runtime) ? undefined : find(c, runtime);
    return t ? ratio(c[key] / t[key]) : "";
  };
  const rows = cells.map((c) => [
    c.model,
    String(c.batch),
    c.runtime,
    ms(c.fwdMs),
    ms(c.gradMs),
    ratio(c.ratio),
    vs(c, "pytorch", "fwdMs"),
    vs(c, "pytorch", "gradMs"),
    vs(c, "pytorch-1t", "gradMs"),
    String(c.rounds),
  ]);
  return markdownTable(
    [
      "model",
      "batch",
      "runtime",
      "fwd ms",
      "fwd+grad ms",
      "fwd+grad / fwd",
      "fwd / PyTorch",
      "fwd+grad / PyTorch",
      "fwd+grad / PyTorch-1t",
      "rounds",
    ],
    rows,
  );
}

export function gradientInfoTable(info: ModelGradientInfo[]): string {
  return markdownTable(
    ["model", "backend", "gradient mode", "derive ce graph ms"],
    info.map((
      i,
    ) => [i.model, i.runtime, i.mode === "exact" ? "exact" : `**${i.mode}** (${i.reason})`, ms(i.buildMs ?? NaN)]),
  );
}

export function latencyTable(rows: LatencySummary[]): string {
  const vs = (r: LatencySummary, runtime: string, key: "p50" | "p95") => {
    const t = isTorch(r.runtime) ? undefined : rows.find((o) => o.model === r.model && o.runtime === runtime);
    return t ? ratio(r[key] / t[key]) : "";
  };
  return markdownTable(
    [
      "model",
      "runtime",
      "images",
      "p50 ms",
      "p95 ms",
      "p50 / PyTorch",
      "p95 / PyTorch",
      "p50 / PyTorch-1t",
      "p95 / PyTorch-1t",
      "in-service total p50 ms",
    ],
    rows.map((r) => [
      r.model,
      r.runtime,
      String(r.images),
      ms(r.p50),
      ms(r.p95),
      vs(r, "pytorch", "p50"),
      vs(r, "pytorch", "p95"),
      vs(r, "pytorch-1t", "p50"),
      vs(r, "pytorch-1t", "p95"),
      ms(r.stages.totalMs ?? NaN),
    ]),
  );
}

export function stageTable(rows: LatencySummary[]): string {
  return markdownTable(
    ["model", "runtime", ...STAGE_COLUMNS.map(([, name]) => name), "HTTP+decode+options"],
    rows.map((r) => [
      r.model,
      r.runtime,
      ...STAGE_COLUMNS.map(([key]) => ms(r.stages[key] ?? NaN)),
      isTorch(r.runtime) ? "" : ms(r.p50 - (r.stages.totalMs ?? NaN)),
    ]),
  );
}

/** One sentence per (model, runtime): the stage that takes the largest share of the check. */
export function dominantStages(rows: LatencySummary[]): string[] {
  return rows.map((r) => {
    const total = r.stages.totalMs ?? NaN;
    const [key, value] = STAGE_COLUMNS.filter(([k]) => k !== "totalMs")
      .map(([k, name]): [string, number] => [name, r.stages[k] ?? 0])
      .sort((a, b) => b[1] - a[1])[0];
    return `${r.model} / ${r.runtime}: ${key} is the largest stage (${ms(value)} ms of ${ms(total)} ms median)`;
  });
}

export function formulationTable(cells: FormulationCell[]): string {
  return markdownTable(
    ["model", "backend", "batch", "gradient graph", "fwd ms", "fwd+grad ms", "fwd+grad / fwd", "vs before", "rounds"],
    cells.map((c) => [
      c.model,
      c.backend,
      String(c.batch),
      c.same.length > 0 ? `${c.variant} (= ${c.same.join(", ")})` : c.variant,
      ms(c.fwdMs),
      ms(c.gradMs),
      ratio(c.ratio),
      ratio(c.vsBefore),
      String(c.rounds),
    ]),
  );
}

export function kernelTable(cells: KernelCell[]): string {
  return markdownTable(
    ["kernel", "image", "before ms", "after ms", "after / before", "same output", "rounds"],
    cells.map((c) => [
      c.kernel,
      c.shape,
      ms(c.beforeMs),
      ms(c.afterMs),
      ratio(c.ratio),
      c.identical ? "yes" : "**no**",
      String(c.rounds),
    ]),
  );
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  return `# Benchmarks

Generated by \`deno task bench --write\` (bench/run.ts) — do not edit by hand. Every comparison is a
**ratio measured side by side in one run**: the measurements of a table cell are interleaved
round-robin (robustcheck wasm, robustcheck native, PyTorch eager with 2 threads, PyTorch eager with 1
thread), so the noise of this shared machine lands on all of them alike, each call after a 20 ms pause (the previous
runtime's spin-waiting pool threads go idle first, so they do not take the cores from the next). Absolute milliseconds are given
for context only. \`pytorch\` (2 threads, \`torch.set_num_threads(2)\`) is the comparison asked for;
\`pytorch-1t\` is there because a 2-thread OpenMP pool degrades badly when other processes compete for
the 2 cores (see the load average), and the fair question is whether robustcheck beats PyTorch at its best.

## Machine

| | |
| --- | --- |
| date | ${m.date} |
| CPU | ${m.cpu}, ${m.cores} cores (nproc) |
| load average (1/5/15 min) | at start ${m.loadAverage}; at end ${r.loadAfter} |
| Deno | ${m.deno} (V8 ${m.v8}) |
| onnxruntime-web / onnxruntime-node | ${m.onnxruntimeWeb} / ${m.onnxruntimeNode} |
| PyTorch (Debian, /usr/bin/python3) | ${m.torch} |
| threads | onnxruntime 2 intra-op threads, 1 worker; PyTorch 2 threads (\`pytorch\`) and 1 thread (\`pytorch-1t\`) |
| bench wall time | ${r.elapsedS.toFixed(0)} s |

## 1. Gradient cost

\`classifier.logits\` vs \`classifier.gradient(…, "ce")\` through \`startWorkerPool\` + \`loadClassifier\`
(the service's path, including the Worker round trip and preprocessing), random pixels. fwd+grad / fwd
is the median over rounds of the two measured back to back (the arithmetic predicts ≈ 2–3×). The
PyTorch columns divide by PyTorch eager doing the same (forward under no_grad; forward + backward of
the summed cross-entropy to the pixels). ResNet-18 and MobileNetV2 are torchvision models with random
weights (tools/export_bench_models.py, BatchNorm folded on export; PyTorch runs them unfolded, as eager
code does).

${gradientTable(r.gradient.cells)}

Gradient graphs (a model on \`spsa\` would be a bug):

${gradientInfoTable(r.gradient.info)}

## 2. Default check latency

\`POST /v1/models/{id}/check\` with no options (src/check/options.ts \`serverDefaults\`) on the first
${r.images} committed fixture images of each model, through the real HTTP API on a loopback port (client
wall time: HTTP + PNG decode + check). PyTorch eager is tools/bench_torch.py running the same check
(same models and weights, same images, same probes, batching and early stops); its time excludes
decoding and HTTP. Ratios below 1 mean robustcheck is faster. \`wasm-1t\` / \`native-1t\` are the same
service started with \`ROBUSTCHECK_THREADS=1\` (a diagnostic next to the 2-thread default of this run).

${latencyTable(r.latency)}

Median per stage (ms; robustcheck from the report's \`timings\`):

${stageTable(r.latency)}

${dominantStages(r.latency).map((s) => `- ${s}`).join("\n")}

## 3. Backward formulations

Derived gradient graphs (\`ce\` loss) run as sessions of the same Worker engine as section 1,
interleaved round-robin with the model's forward, fed directly (no preprocessing, no batching
split). \`before\` is the graph derived before the formulations of src/autodiff/rules/formulations.ts
existed (MaxPool Indices + scatter or the mask compare, AveragePool by ConvTranspose, strided Conv by
ConvTranspose); \`service\` is what the service derives on that backend now (\`formulationsFor\`); the
other rows change one choice of \`service\`. "vs before" is the median over rounds of the graph's time
over \`before\`'s in the same round. Graphs byte-identical to an earlier row are timed once and named
in brackets.

${formulationTable(r.formulations)}

## 4. Squeezer kernels

kernels/squeeze.ts now against its previous version (bench/baselines/squeeze_before.ts), same
deterministic noisy image, interleaved; "same output" compares every value exactly.

${kernelTable(r.kernels)}

## 5. k PGD steps in one graph (measured, removed)

Not rerun: a record of a measurement that led to removing the code. An unrolled graph (the gradient graph repeated k
times with sign, step and ε-ball clipping between copies, one \`session.run\` for k L∞ steps, iterates identical to the
loop) ran k = 5 or 10 steps 0.48–0.84× as long as k gradient runs at batch 1 and 0.62–1.35× at batch 16 (graph alone, same
iterate). Wired into the attack engine (chunks of 5 steps for ≤ 4 rows, the loop replayed on the chunk's iterates so
reports stayed byte-identical, golden test unchanged; branch p12-unroll, commit 05792be; measured by bench/unroll_service.ts of commit 7b81cf2) it lost in the service path,
2026-12-01, two runs (load average 4.4–7.1 and 3.5–5.3 on the 2 cores), loop and unrolled classifiers interleaved on
one engine, 10 fixture images per model, every pair of results equal:

| work                            | wasm unrolled / loop | native unrolled / loop |
| ------------------------------- | -------------------- | ---------------------- |
| default per-image check         | 1.03–1.19×           | 0.97–1.40×             |
| PGD-20 L∞, 1 row                | 1.00–1.42×           | 0.74–1.22×             |
| PGD-20 L∞, 2–8 rows             | 1.11–1.66×           | 0.82–1.54×             |
| PGD-20 L∞, 1 row, 224² models   | –                    | 1.50× (ResNet-18), 1.93× (MobileNetV2) |
| load (shipped models)           | noisy (+0–370 ms)    | 1.55–2.23× (+50–150 ms) |
| load + first run, 224² models   | +1.3 s / +1.8 s, +285 / +60 MiB | +0.1–0.7 s, +110–350 MiB |

(Two values in a 224² row: ResNet-18 / MobileNetV2.) PGD alone at 1 row on native won on the two 1-channel CNNs
(0.74–0.86×), but not inside the check: there a diagnostic run (native, 40 checks) measured the PGD stage 1.27× /
1.93× and minimal ε 1.16× / 1.15× (fashion-cnn / fashion-cnn-robust). The engine stops each row at its first adversarial iterate; a chunk computes
all k steps, and in the check most PGD and minimal-ε rounds on these models succeed within a few steps, so the round trips saved (a fraction of a millisecond per step at 28×28) are spent on discarded steps; at
224² a step costs tens of milliseconds and a round trip is noise. Starting chunks only after k single steps measured no
better (check 1.01–1.25×). An ONNX \`Loop\` with the success test inside the graph would not waste steps; it was not
tried.

## Notes

${r.notes.length > 0 ? r.notes.map((n) => `- ${n}`).join("\n") : "- none"}

## Rerun

\`\`\`sh
deno task bench            # prints the tables (≈ ${Math.ceil(r.elapsedS / 60)} min here)
deno task bench --write    # and rewrites BENCHMARKS.md
deno task bench --images=5 --no-torch   # quick look
deno run -A bench/profile_gradient.ts models/fashion-cnn 16   # gradient-graph time by op type (native; args: batch runs maxPool threads)
\`\`\`

Needs Debian's \`/usr/bin/python3\` with torch, torchvision and onnx for the PyTorch columns and for
exporting ResNet-18/MobileNetV2 into \`bench/.cache/\` on first run; without it those rows are skipped
with a note. \`native\` (onnxruntime-node) rows appear when it loads.
`;
}
