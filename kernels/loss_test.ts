import assert from "node:assert/strict";
import fc from "fast-check";
import { rowLosses } from "./loss.ts";
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
