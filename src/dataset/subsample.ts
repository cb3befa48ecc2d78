/**
 * Seeded stratified subsample: `size` of the `labels.length` images, each class getting its
 * share by largest remainder (quota n_c·size/n, floors first, then the largest fractional parts,
 * ties to the lower class index). Within each class (in class order) the kept images are the
 * first picks of a Fisher–Yates shuffle of that class's indices (ascending) drawn from one
 * `createRng(seed)`: j = i + ⌊u·(m − i)⌋ for i = 0, 1, …. Returns the kept indices ascending,
 * so the subsample keeps the dataset's name order.
 */
import { createRng } from "../../kernels/rng.ts";

export function stratifiedSubsample(labels: readonly number[], size: number, seed: number): number[] {
  const n = labels.length;
  if (size >= n) return Array.from({ length: n }, (_, i) => i);
  const byClass = new Map<number, number[]>();
  labels.forEach((c, i) => byClass.set(c, [...(byClass.get(c) ?? []), i]));
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const quota = classes.map((c) => (byClass.get(c)!.length * size) / n);
  const take = quota.map(Math.floor);
  let left = size - take.reduce((a, b) => a + b, 0);
  const order = classes.map((_, k) => k).sort((a, b) => (quota[b] - take[b]) - (quota[a] - take[a]) || a - b);
  for (const k of order) {
    if (left === 0) break;
    take[k]++;
    left--;
  }
  const rng = createRng(seed);
  const kept: number[] = [];
  classes.forEach((c, k) => {
    const members = byClass.get(c)!.slice();
    for (let i = 0; i < take[k]; i++) {
      const j = i + Math.floor(rng.next() * (members.length - i));
      [members[i], members[j]] = [members[j], members[i]];
      kept.push(members[i]);
    }
  });
  return kept.sort((a, b) => a - b);
}
