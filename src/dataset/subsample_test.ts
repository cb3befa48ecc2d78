import assert from "node:assert/strict";
import fc from "fast-check";
import { stratifiedSubsample } from "./subsample.ts";

Deno.test("stratified subsample: size, per-class quotas by largest remainder, ascending, seeded", () => {
  fc.assert(fc.property(
    fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 200 }),
    fc.integer({ min: 1, max: 250 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    (labels, size, seed) => {
      const kept = stratifiedSubsample(labels, size, seed);
      assert.equal(kept.length, Math.min(size, labels.length));
      assert.deepEqual(kept, [...new Set(kept)].sort((a, b) => a - b));
      assert.deepEqual(stratifiedSubsample(labels, size, seed), kept);
      if (size < labels.length) {
        for (const c of new Set(labels)) {
          const quota = (labels.filter((l) => l === c).length * size) / labels.length;
          const got = kept.filter((i) => labels[i] === c).length;
          assert.ok(got === Math.floor(quota) || got === Math.ceil(quota), `class ${c}: ${got} vs quota ${quota}`);
        }
      }
    },
  ));
  const labels = Array.from({ length: 100 }, (_, i) => i % 2);
  assert.notDeepEqual(stratifiedSubsample(labels, 10, 1), stratifiedSubsample(labels, 10, 2));
});
