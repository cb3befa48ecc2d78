import assert from "node:assert/strict";
import { createRng } from "./rng.ts";

const fixture: Record<string, number[]> = JSON.parse(
  Deno.readTextFileSync(new URL("../tests/fixtures/kernels/rng.json", import.meta.url)),
);

Deno.test("next() equals an independent xoroshiro128+ / uniformFloat64 implementation", () => {
  for (const [seed, expected] of Object.entries(fixture)) {
    const rng = createRng(Number(seed));
    assert.deepEqual(expected.map(() => rng.next()), expected, `seed ${seed}`);
  }
});

Deno.test("same seed gives the same stream; nearby seeds give different streams", () => {
  const draw = (seed: number) => {
    const rng = createRng(seed);
    return Array.from({ length: 6 }, (_, i) => i % 2 ? rng.normal() : rng.next());
  };
  assert.deepEqual(draw(7), draw(7));
  const firsts = [1, 2, 3, 4].map((s) => createRng(s).next());
  assert.equal(new Set(firsts).size, 4);
  assert.ok(Math.max(...firsts) - Math.min(...firsts) > 0.05, `${firsts}`);
});

Deno.test("next() is in [0,1) and normal() has mean ≈ 0, variance ≈ 1", () => {
  const rng = createRng(123);
  const n = 20000;
  let s = 0, s2 = 0;
  for (let i = 0; i < n; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
    const z = rng.normal();
    assert.ok(Number.isFinite(z));
    s += z;
    s2 += z * z;
  }
  // 5-sigma bounds: sd(mean) = 1/√n ≈ 0.007, sd(var) ≈ √(2/n) ≈ 0.01.
  assert.ok(Math.abs(s / n) < 0.035, `mean ${s / n}`);
  assert.ok(Math.abs(s2 / n - 1) < 0.05, `var ${s2 / n}`);
});
