import assert from "node:assert/strict";
import type { AnyProbe } from "../probe.ts";
import { PROBES } from "./index.ts";
import { model } from "./testdata/run_probe.ts";

Deno.test("probes: the registry has unique keys and every probe's defaults pass its own limits", () => {
  const keys = PROBES.map((p) => p.key);
  assert.equal(new Set(keys).size, keys.length);
  for (const probe of PROBES as readonly AnyProbe[]) {
    const settings = probe.fallback(model);
    probe.limits(settings, model, {
      maxSteps: 1000,
      maxRestarts: 32,
      maxDraws: 256,
      maxEpsList: 16,
      maxPgdProbes: 8,
      maxBisectionSteps: 30,
      maxSqueezers: 8,
      maxCost: 50_000,
    });
    assert.ok(probe.cost(settings, 2) >= 1, probe.key);
  }
});
