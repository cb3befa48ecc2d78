import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";

/** A seeded stream of random numbers; every draw advances the stream. */
export interface Rng {
  /** Uniform in [0, 1), a multiple of 2^-53. */
  next(): number;
  /** Standard normal N(0, 1). */
  normal(): number;
}

/**
 * Small seeds put xoroshiro128+ in a low-entropy state whose first outputs are close to each
 * other across seeds (seed 42 starts at 0.99999937); dropping these decorrelates nearby seeds.
 */
const WARM_UP_OUTPUTS = 32;

/**
 * Deterministic RNG: pure-rand's xoroshiro128+ seeded with `seed | 0` (pure-rand's seeding:
 * s0 = 0xFFFFFFFF:~seed, s1 = seed:0), the first 32 raw 32-bit outputs discarded, then
 * - `next()` = pure-rand `uniformFloat64` (two raw outputs: 26 + 27 bits → k·2^-53 in [0, 1));
 * - `normal()` = {@link gaussianFrom}(next): Box–Muller on two `next()` draws, cosine value first,
 *   the paired sine value on the following call (which draws nothing).
 *
 * The raw stream is pure 32-bit integer arithmetic, so it is identical on every platform;
 * `normal()` also depends on V8's fdlibm-derived Math.log/cos/sin, identical wherever Deno runs.
 */
export function createRng(seed: number): Rng {
  const gen = xoroshiro128plus(seed | 0);
  for (let i = 0; i < WARM_UP_OUTPUTS; i++) gen.next();
  const next = (): number => uniformFloat64(gen);
  return { next, normal: gaussianFrom(next) };
}

/**
 * Standard normals from a uniform [0,1) source by Box–Muller: each pair takes u1 then u2 and
 * yields √(−2 ln(1 − u1))·cos(2π u2); the call after that returns the paired
 * √(−2 ln(1 − u1))·sin(2π u2) without drawing.
 */
export function gaussianFrom(uniform: () => number): () => number {
  let spare: number | null = null;
  return (): number => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}
