import assert from "node:assert/strict";
import { minimalEpsilonProbe } from "./minimal_epsilon.ts";
import { model, runProbe } from "./testdata/run_probe.ts";

Deno.test("minimal epsilon probe: the minimal-ε search brackets the flip within [low, high]", async () => {
  const settings = { ...minimalEpsilonProbe.fallback(model), high: 1, bisectionSteps: 6 };
  const { section, verdict } = await runProbe(minimalEpsilonProbe, settings);
  assert.equal(section.broken, true);
  assert.ok(section.linf !== null && section.linf > 0 && section.linf <= 1);
  assert.equal(section.bounds[1], section.linf);
  assert.equal(verdict.reasons.length, 1);
});
