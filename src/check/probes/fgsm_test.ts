import assert from "node:assert/strict";
import { fgsmProbe } from "./fgsm.ts";
import { runProbe } from "./testdata/run_probe.ts";

Deno.test("fgsm probe: reports one row per ε and offers its successes as candidates", async () => {
  const { section, candidates, verdict } = await runProbe(fgsmProbe, { eps: [0.01, 0.5, 1] });
  assert.deepEqual(section.map((r) => r.eps), [0.01, 0.5, 1]);
  const successes = section.filter((r) => r.success);
  assert.ok(successes.length > 0, "ε = 1 fools a linear model");
  assert.equal(candidates.length, successes.length);
  assert.equal(verdict.reasons.length, successes.length);
  for (const r of section) assert.ok(r.perturbation.linf <= r.eps + 1e-6);
});
