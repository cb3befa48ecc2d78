import assert from "node:assert/strict";
import { squeezeProbe } from "./squeeze.ts";
import { model, runProbe } from "./testdata/run_probe.ts";

Deno.test("squeeze probe: scores one screening row per squeezer and flags above the threshold", async () => {
  const settings = squeezeProbe.fallback(model);
  const { section, verdict } = await runProbe(squeezeProbe, settings);
  assert.deepEqual(Object.keys(section.scores), ["bitDepth:1", "median:2"]);
  assert.equal(section.joint, Math.max(...Object.values(section.scores)));
  assert.equal(section.flagged, section.joint > 0.01);
  assert.equal(verdict.suspicious, section.flagged);
  assert.equal(verdict.reasons.length, section.flagged ? 1 : 0);
});
