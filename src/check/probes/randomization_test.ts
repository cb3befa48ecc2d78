import assert from "node:assert/strict";
import { randomizationProbe } from "./randomization.ts";
import { model, runProbe } from "./testdata/run_probe.ts";

Deno.test("randomization probe: votes over its draws and runs EoT-PGD through the same transforms", async () => {
  const settings = { ...randomizationProbe.fallback(model), draws: 6 };
  const { section, verdict } = await runProbe(randomizationProbe, settings);
  assert.equal(section.votes.reduce((n, v) => n + v.count, 0), 6);
  assert.ok(section.eot);
  assert.equal(section.eot.attack, "eot-pgd");
  assert.equal(section.eot.evalDraws, 6);
  assert.equal(verdict.suspicious, section.agreement < 0.5);
});
