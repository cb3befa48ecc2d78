import assert from "node:assert/strict";
import fc from "fast-check";
import { candidateSets, rocAuc, splitIndices } from "./select.ts";

Deno.test("candidateSets: every subset of at most 3, by size then lexicographically", () => {
  assert.deepEqual(candidateSets(3), [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]);
  assert.equal(candidateSets(11).length, 11 + 55 + 165);
  assert.equal(candidateSets(2, 3).length, 3);
});

Deno.test("rocAuc: Mann–Whitney with ties counting ½", () => {
  assert.equal(rocAuc([0, 1], [2, 3]), 1);
  assert.equal(rocAuc([2, 3], [0, 1]), 0);
  assert.equal(rocAuc([1, 1], [1]), 0.5);
  assert.equal(rocAuc([0, 2], [1]), 0.5);
  assert.equal(rocAuc([], [1]), null);
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 20 }),
    fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 20 }),
    (clean, adv) => {
      let wins = 0;
      for (const a of adv) for (const c of clean) wins += a > c ? 1 : a === c ? 0.5 : 0;
      assert.ok(Math.abs(rocAuc(clean, adv)! - wins / (clean.length * adv.length)) < 1e-12);
    },
  ));
});

Deno.test("splitIndices: a permutation split in halves", () => {
  let k = 0;
  const { selection, heldOut } = splitIndices(7, () => (k++ * 0.37) % 1);
  assert.equal(selection.length, 3);
  assert.deepEqual([...selection, ...heldOut].sort(), [0, 1, 2, 3, 4, 5, 6]);
});
