import assert from "node:assert/strict";
import type { Squeezer } from "../squeeze.ts";
import { squeezeProbe, squeezeThreshold, thresholdHolds } from "./squeeze.ts";
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

Deno.test("squeeze threshold: holds for the calibrated set and its subsets, never for a set with another squeezer", () => {
  const bit5 = { kind: "bitDepth", bits: 5 } as const;
  const med2 = { kind: "median", size: 2 } as const;
  const nlm = { kind: "nonLocalMeans", search: 13, patch: 3, h: 2 } as const;
  const standard = [bit5, med2, nlm];
  const threshold = (squeezers: Squeezer[], extra: Partial<Parameters<typeof squeezeThreshold>[0]> = {}) =>
    squeezeThreshold({
      settings: { squeezers, threshold: null },
      calibration: { threshold: 0.7, squeezers: ["bitDepth:5", "median:2", "nonLocalMeans:13-3-2"] },
      manifestThreshold: 0.9,
      manifestSqueezers: standard,
      ...extra,
    });
  assert.deepEqual(threshold(standard), { value: 0.7, source: "calibration" });
  // The screen profile's subset: its joint score is ≤ the full set's on every image.
  assert.deepEqual(threshold([med2, bit5]), { value: 0.7, source: "calibration" });
  assert.deepEqual(threshold([bit5, { kind: "median", size: 3 }]), { value: null, source: "none" });
  assert.deepEqual(threshold([bit5], { calibration: null }), { value: 0.9, source: "manifest" });
  assert.deepEqual(threshold([bit5], { calibration: null, settings: { squeezers: [bit5], threshold: 0.4 } }), {
    value: 0.4,
    source: "manifest",
  });
  assert.deepEqual(threshold([{ kind: "bitDepth", bits: 4 }], { calibration: null }), { value: null, source: "none" });
  assert.deepEqual(threshold([{ kind: "bitDepth", bits: 4 }], { request: { threshold: 0.2 } }), {
    value: 0.2,
    source: "request",
  });
  assert.equal(thresholdHolds([], ["bitDepth:5"]), false);
});
