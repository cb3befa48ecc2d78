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

Deno.test('squeeze probe: return ["squeezed"] adds each squeezed image as a PNG, absent otherwise', async () => {
  const fallback = squeezeProbe.fallback(model);
  const settings = squeezeProbe.overlay(fallback, { return: ["squeezed", "squeezed"] }, fallback);
  assert.deepEqual(settings.return, ["squeezed"]);
  const { section } = await runProbe(squeezeProbe, settings);
  assert.deepEqual(Object.keys(section.images ?? {}), ["bitDepth:1", "median:2"]);
  const png = Uint8Array.from(atob(section.images!["bitDepth:1"]), (c) => c.charCodeAt(0));
  assert.deepEqual([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(""), "PNG");
  assert.equal((await runProbe(squeezeProbe, fallback)).section.images, undefined);
  assert.equal("return" in squeezeProbe.overlay(fallback, { threshold: 1 }, fallback), false);
});
