import { ProbeLimitError } from "../probe.ts";
import { DEFAULT_CHECK_LIMITS } from "../limits.ts";
import type { Manifest } from "../../model/manifest.ts";
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

Deno.test("pgd probe: the dlr loss on fewer than 3 classes is a 422 invalid_options, not a failure mid-check", () => {
  const manifest = { labels: ["a", "b"], input: { channels: 1, height: 2, width: 2 } } as unknown as Manifest;
  const probe = {
    norm: "linf",
    eps: 0.1,
    alpha: 0.01,
    steps: 2,
    randomStart: false,
    restarts: 1,
    loss: "dlr",
  } as const;
  assert.throws(
    () => pgdProbe.limits([probe], { manifest, gradientMode: "exact" }, DEFAULT_CHECK_LIMITS),
    (e) => e instanceof ProbeLimitError && e.code === "invalid_options" && /dlr loss needs at least 3/.test(e.message),
  );
  pgdProbe.limits([{ ...probe, loss: "ce" }], { manifest, gradientMode: "exact" }, DEFAULT_CHECK_LIMITS);
});
