import assert from "node:assert/strict";
import fc from "fast-check";
import { DLR_DENOMINATOR_FLOOR, rowLosses, TooFewClassesError, topThree } from "./loss.ts";
import { logSoftmax } from "./softmax.ts";

Deno.test("rowLosses: ce is −logSoftmax[y] and margin is max_{j≠y} z_j − z_y, per row", () => {
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 2, max: 12 }),
    fc.array(fc.float({ min: -50, max: 50, noNaN: true }), { minLength: 48, maxLength: 48 }),
    fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    (rows, cols, values, picks) => {
      const z = Float32Array.from(values.slice(0, rows * cols));
      if (z.length < rows * cols) return;
      const labels = Int32Array.from({ length: rows }, (_, r) => picks[r] % cols);
      const ce = rowLosses(z, cols, labels, "ce");
      const margin = rowLosses(z, cols, labels, "margin");
      const ls = logSoftmax(z, { rows, cols });
      for (let r = 0; r < rows; r++) {
        assert.ok(Math.abs(ce[r] + ls[r * cols + labels[r]]) <= 1e-4 * Math.max(1, Math.abs(ce[r])));
        let other = -Infinity;
        for (let j = 0; j < cols; j++) if (j !== labels[r]) other = Math.max(other, z[r * cols + j]);
        assert.equal(margin[r], other - z[r * cols + labels[r]]);
      }
    },
  ));
});

/** Descending order of one row as torch.sort(stable=True) read from the end: ties → higher index first. */
function descendingStable(row: number[]): number[] {
  return row.map((v, j) => ({ v, j })).sort((a, b) => b.v - a.v || b.j - a.j).map((e) => e.j);
}

Deno.test("rowLosses: dlr is −(z_y − max_{i≠y} z_i)/(z_π1 − z_π3 + 1e-12), π the descending order", () => {
  fc.assert(fc.property(
    fc.integer({ min: 3, max: 12 }),
    // Few distinct values, so ties are common.
    fc.array(fc.constantFrom(-2, -0.5, 0, 0.5, 1, 3), { minLength: 12, maxLength: 12 }),
    fc.nat(),
    (cols, values, pick) => {
      const row = values.slice(0, cols);
      const y = pick % cols;
      const order = descendingStable(row);
      assert.deepEqual(topThree(row, 0, cols), order.slice(0, 3));
      let other = -Infinity;
      for (let j = 0; j < cols; j++) if (j !== y) other = Math.max(other, row[j]);
      const expected = -(row[y] - other) / (row[order[0]] - row[order[2]] + DLR_DENOMINATOR_FLOOR);
      assert.equal(rowLosses(Float32Array.from(row), cols, [y], "dlr")[0], expected);
    },
  ));
});

Deno.test("rowLosses: dlr on fewer than 3 classes is a TooFewClassesError", () => {
  assert.throws(() => rowLosses([1, 2], 2, [0], "dlr"), TooFewClassesError);
  assert.equal(rowLosses([3, 1, 0], 3, [0], "dlr")[0], -(3 - 1) / (3 - 0 + DLR_DENOMINATOR_FLOOR));
});
