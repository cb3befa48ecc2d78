import assert from "node:assert/strict";
import type { AuditReport } from "../audit/report_schema.ts";
import { evaluateGates, parseGate } from "./gates.ts";

const estimate = (rate: number | null) => ({ count: 0, total: 10, rate, low: null, high: null });
const report = {
  clean: { accuracy: estimate(0.9) },
  robustness: [{ attack: "pgd-linf", kind: "pgd", norm: "linf", eps: 0.1, accuracy: estimate(0.55) }],
  worstCase: [{ norm: "linf", eps: 0.1, attacks: ["pgd-linf"], accuracy: estimate(0.5) }],
  flags: [{ code: "probabilities_output", severity: "warning", message: "m", meaning: "", action: "" }],
} as unknown as AuditReport;

Deno.test("gates: attack, worst case and clean thresholds; unknown entries and flags fail", () => {
  assert.deepEqual(evaluateGates(report, [parseGate("pgd-linf@0.1=0.5")], false), []);
  assert.equal(evaluateGates(report, [parseGate("pgd-linf@0.1=0.60")], false).length, 1);
  assert.equal(evaluateGates(report, [parseGate("worst-linf@0.1=0.51")], false).length, 1);
  assert.deepEqual(evaluateGates(report, [parseGate("clean=0.9")], false), []);
  assert.match(evaluateGates(report, [parseGate("fgsm-linf@0.1=0")], false)[0], /no such entry/);
  assert.equal(evaluateGates(report, [], true).length, 1);
  assert.throws(() => parseGate("pgd-linf=0.5"), RangeError);
});
