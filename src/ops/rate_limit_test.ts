import assert from "node:assert/strict";
import { RateLimiter } from "./rate_limit.ts";

Deno.test("rate limit: a key bursts its minute's allowance, then waits for tokens; keys are independent", () => {
  let now = 0;
  const limiter = new RateLimiter(() => now);
  assert.deepEqual([1, 2, 3].map(() => limiter.take("a", 3)), [0, 0, 0]);
  const wait = limiter.take("a", 3);
  assert.ok(Math.abs(wait - 20) < 1e-9, `one token per 20 s, got ${wait}`);
  assert.equal(limiter.take("b", 3), 0);
  now += 20_000;
  assert.equal(limiter.take("a", 3), 0);
  assert.ok(limiter.take("a", 3) > 0);
});
