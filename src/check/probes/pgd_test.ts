import assert from "node:assert/strict";
import { pgdProbe } from "./pgd.ts";
import { runProbe } from "./testdata/run_probe.ts";

Deno.test("pgd probe: runs each probe with its derived step and stays in its ε-ball", async () => {
  const settings = pgdProbe.overlay([], [
    { norm: "l2", eps: 3, steps: 5, randomStart: false, restarts: 1, loss: "ce" },
    {
      norm: "linf",
      eps: 0.3,
      steps: 5,
      randomStart: true,
      restarts: 2,
      loss: "margin",
    },
  ], []);
  assert.equal(settings[0].alpha, 2.5 * 3 / 5);
  const { section } = await runProbe(pgdProbe, settings);
  assert.deepEqual(section.map((r) => [r.norm, r.loss, r.randomStart]), [["l2", "ce", false], [
    "linf",
    "margin",
    true,
  ]]);
  assert.ok(section[0].perturbation.l2 <= 3 + 1e-4);
  assert.ok(section[1].perturbation.linf <= 0.3 + 1e-6);
});
