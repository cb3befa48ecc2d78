/**
 * CI gates of `deno task cli audit`: `--fail-under "<attack>@<ε>=<min>"` fails when that attack's
 * robust accuracy at ε is below min (`worst-<norm>@<ε>` names the worst case over attacks,
 * `clean=<min>` the clean accuracy); `--fail-on-flag` fails on any warning flag of the report.
 */
import type { AuditReport } from "../audit/report_schema.ts";

export interface Gate {
  text: string;
  target: { kind: "clean" } | { kind: "attack"; attack: string; eps: number } | {
    kind: "worst";
    norm: string;
    eps: number;
  };
  min: number;
}

export function parseGate(text: string): Gate {
  const clean = /^clean=([0-9.]+)$/.exec(text);
  if (clean) return { text, target: { kind: "clean" }, min: Number(clean[1]) };
  const m = /^([a-z0-9][a-z0-9._-]*)@([0-9.e-]+)=([0-9.]+)$/.exec(text);
  if (!m || !Number.isFinite(Number(m[2])) || !Number.isFinite(Number(m[3]))) {
    throw new RangeError(
      `--fail-under "${text}": expected <attack>@<eps>=<min>, worst-<norm>@<eps>=<min> or clean=<min>`,
    );
  }
  const worst = /^worst-(linf|l2)$/.exec(m[1]);
  const eps = Number(m[2]);
  return {
    text,
    target: worst ? { kind: "worst", norm: worst[1], eps } : { kind: "attack", attack: m[1], eps },
    min: Number(m[3]),
  };
}

/** The failures (empty: every gate passed). A gate naming nothing in the report fails. */
export function evaluateGates(report: AuditReport, gates: readonly Gate[], failOnFlag: boolean): string[] {
  const out: string[] = [];
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  for (const g of gates) {
    const t = g.target;
    const rate = t.kind === "clean"
      ? report.clean.accuracy.rate
      : t.kind === "worst"
      ? report.worstCase.find((w) => w.norm === t.norm && close(w.eps, t.eps))?.accuracy.rate
      : report.robustness.find((r) => r.attack === t.attack && close(r.eps, t.eps))?.accuracy.rate;
    if (rate === undefined) out.push(`${g.text}: the report has no such entry`);
    else if (rate === null || rate < g.min) out.push(`${g.text}: robust accuracy ${rate} < ${g.min}`);
  }
  if (failOnFlag) {
    for (const f of report.flags) if (f.severity === "warning") out.push(`flag ${f.code}: ${f.message}`);
  }
  return out;
}
