/**
 * `deno run -A bench/gradcheck_worker.ts [--write] [--rounds=N]`
 *
 * The upload gradient check (`inputs: 1, directions: 3`, as src/registry/validate_upload.ts runs it) on the calling
 * thread (`checkGradient`) versus in its own Worker (`checkGradientInWorker`, what the server does), interleaved round
 * by round on committed fixtures: MobileNetV2 w0.35 at 64² and ResNet-18 at 224². Per variant: the check's wall time
 * and the longest the main thread's event loop went without running a 5 ms interval timer meanwhile (what /healthz
 * waits). `--write` replaces the "Upload gradient check" section of BENCHMARKS.md (between its markers).
 */
import { loadFixture } from "../src/autodiff/testing.ts";
import { checkGradientInWorker } from "../src/gradcheck/check_in_worker.ts";
import { checkGradient } from "../src/gradcheck/gradcheck.ts";
import { loadAverage } from "./machine.ts";
import { median, ms, ratio } from "./stats.ts";
import { markdownTable } from "./table.ts";
import { writeMarkedSection } from "./marked_section.ts";

const START = "<!-- gradcheck:start (bench/gradcheck_worker.ts --write) -->";
const END = "<!-- gradcheck:end -->";
const FIXTURES = ["mobilenet_v2_w035", "resnet18"];
const UPLOAD_CHECK = { inputs: 1, directions: 3 };
const VARIANTS = {
  "main thread": checkGradient,
  "own Worker": checkGradientInWorker,
} as const;
type Variant = keyof typeof VARIANTS;

/** Runs `work` while a 5 ms interval timer ticks; returns its wall time and the longest gap between ticks. */
async function timed(work: () => Promise<unknown>): Promise<{ ms: number; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 5);
  const start = performance.now();
  await work();
  const end = performance.now();
  clearInterval(timer);
  return { ms: end - start, stallMs: Math.max(stallMs, end - last) };
}

function parseArgs(argv: string[]): { write: boolean; rounds: number } {
  const args = { write: false, rounds: 3 };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    if (key === "write") args.write = true;
    else if (key === "rounds" && Number(value) >= 1) args.rounds = Math.min(20, Math.floor(Number(value)));
    else throw new Error(`unknown argument ${arg} (use --write, --rounds=N)`);
  }
  return args;
}

async function measure(rounds: number) {
  const rows: string[][] = [];
  for (const name of FIXTURES) {
    const f = loadFixture(name);
    const samples: Record<Variant, { ms: number; stallMs: number }[]> = { "main thread": [], "own Worker": [] };
    for (let round = 0; round < rounds; round++) {
      // Alternate which variant goes first, so warm-up and drifting load land on both alike.
      const order = (Object.keys(VARIANTS) as Variant[])[round % 2 === 0 ? "slice" : "reverse"]();
      for (const variant of order) {
        samples[variant].push(await timed(() => VARIANTS[variant](f.bytes, f.spec, UPLOAD_CHECK)));
      }
    }
    const { channels, height, width } = f.spec.input;
    const inProcess = median(samples["main thread"].map((s) => s.ms));
    for (const variant of Object.keys(VARIANTS) as Variant[]) {
      const wall = median(samples[variant].map((s) => s.ms));
      rows.push([
        `${name} (${channels}×${height}×${width}, ${(f.bytes.length / 1e6).toFixed(1)} MB)`,
        variant,
        ms(wall),
        ratio(wall / inProcess),
        ms(median(samples[variant].map((s) => s.stallMs))),
        ms(Math.max(...samples[variant].map((s) => s.stallMs))),
      ]);
    }
  }
  return rows;
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const before = await loadAverage();
  const rows = await measure(args.rounds);
  const after = await loadAverage();
  const section = [
    START,
    "## Upload gradient check",
    "",
    `\`deno run -A bench/gradcheck_worker.ts${args.write ? " --write" : ""} --rounds=${args.rounds}\`: the numerical ` +
    "gradient check an upload runs (1 input, 3 directions; onnxruntime-web WASM, 1 thread) on the main thread versus " +
    `in its own Worker, interleaved round by round, ${new Date().toISOString()}; load average (1/5/15 min) at start ` +
    `${before}, at end ${after}. "stall" is the longest the main thread's event loop went without running a 5 ms ` +
    "interval timer during the check (what a /healthz request waits); medians over the rounds, and the worst one.",
    "",
    markdownTable(
      ["model", "check runs on", "check ms", "vs main thread", "stall ms (median)", "stall ms (worst)"],
      rows,
    ),
    END,
  ].join("\n");
  console.log(section);
  if (args.write) await writeMarkedSection(section, START, END);
}
