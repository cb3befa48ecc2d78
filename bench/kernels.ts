/**
 * Section 4: squeezer kernels before/after at the sizes the service meets (Fashion-MNIST, CIFAR,
 * the PaddleOCR text-direction input 3×48×192, ImageNet 224²). "before" is the previous
 * implementation kept verbatim in bench/baselines/; both run interleaved, same input, and must
 * return identical arrays (a difference is reported, not timed).
 */
import { median, nonLocalMeans } from "../kernels/squeeze.ts";
import * as before from "./baselines/squeeze_before.ts";
import type { ImageShape } from "../kernels/resize.ts";
import { median as med } from "./stats.ts";

export interface KernelCell {
  kernel: string;
  shape: string;
  beforeMs: number;
  afterMs: number;
  /** Median over rounds of after/before measured back to back. */
  ratio: number;
  identical: boolean;
  rounds: number;
}

const SHAPES: ImageShape[] = [
  { channels: 1, height: 28, width: 28 },
  { channels: 3, height: 32, width: 32 },
  { channels: 3, height: 48, width: 192 },
  { channels: 3, height: 224, width: 224 },
];

interface Case {
  kernel: string;
  run: (impl: "before" | "after", x: Float32Array, shape: ImageShape) => Float32Array;
}

const CASES: Case[] = [
  { kernel: "median 2×2", run: (i, x, s) => (i === "after" ? median : before.median)(x, s, 2) },
  { kernel: "median 3×3", run: (i, x, s) => (i === "after" ? median : before.median)(x, s, 3) },
  ...[[13, 3, 2], [11, 3, 4], [13, 5, 2], [13, 7, 2]].map(([search, patch, h]): Case => ({
    kernel: `nonLocalMeans ${search}-${patch}-${h}`,
    run: (i, x, s) => (i === "after" ? nonLocalMeans : before.nonLocalMeans)(x, { n: 1, ...s }, { search, patch, h }),
  })),
];

function time(work: () => unknown): number {
  const start = performance.now();
  work();
  return performance.now() - start;
}

export function measureKernels(budgetMs: number, log: (line: string) => void): KernelCell[] {
  const cells: KernelCell[] = [];
  for (const shape of SHAPES) {
    const n = shape.channels * shape.height * shape.width;
    // A noisy image (squeezers do real work), deterministic.
    const x = Float32Array.from({ length: n }, (_, i) => (((i * 2654435761) >>> 0) % 1000) / 1000);
    for (const c of CASES) {
      const a = c.run("before", x, shape), b = c.run("after", x, shape);
      // V8 tiers these long loops up only after many calls (~100 on a 28×28 image): warm both.
      for (const impl of ["before", "after"] as const) {
        const warm = performance.now();
        for (let k = 0; k < 200 && performance.now() - warm < 400; k++) c.run(impl, x, shape);
      }
      const identical = a.length === b.length && a.every((v, i) => v === b[i]);
      const samples = { before: [] as number[], after: [] as number[], ratio: [] as number[] };
      const started = performance.now();
      let round = 0;
      while (round < 3 || (round < 20 && performance.now() - started < budgetMs)) {
        const first = round % 2 === 0 ? "before" : "after";
        const t1 = time(() => c.run(first, x, shape));
        const t2 = time(() => c.run(first === "before" ? "after" : "before", x, shape));
        const [tb, ta] = first === "before" ? [t1, t2] : [t2, t1];
        samples.before.push(tb);
        samples.after.push(ta);
        samples.ratio.push(ta / tb);
        round++;
      }
      const cell: KernelCell = {
        kernel: c.kernel,
        shape: `${shape.channels}×${shape.height}×${shape.width}`,
        beforeMs: med(samples.before),
        afterMs: med(samples.after),
        ratio: med(samples.ratio),
        identical,
        rounds: round,
      };
      cells.push(cell);
      log(`  ${cell.kernel} ${cell.shape}: ${cell.beforeMs.toFixed(2)} → ${cell.afterMs.toFixed(2)} ms (${identical})`);
    }
  }
  return cells;
}
