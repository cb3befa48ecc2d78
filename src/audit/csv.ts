/**
 * The audit's rows as CSV (RFC 4180 via csv-stringify), one row per image and probe, ordered by
 * image index, then: `clean`, each attack row in plan order (SPSA rows last), `minimal-epsilon`,
 * `randomization`, `eot`. An image that could not be decoded has one `error` row. Empty cells
 * mean "not applicable". `value` holds the probe's number: clean confidence, minimal ε
 * (empty = not broken within `high`), agreement, or EoT fooled fraction.
 */
import { stringify } from "csv-stringify/sync";
import type { ShardResult } from "./rows.ts";

export const CSV_COLUMNS = [
  "index",
  "name",
  "label",
  "label_name",
  "probe",
  "attack",
  "norm",
  "eps",
  "success",
  "iterations",
  "prediction",
  "prediction_name",
  "value",
  "linf",
  "l2",
  "squeeze",
  "gradient",
  "error_code",
  "error_message",
] as const;

type Cell = string | number | boolean | null;

export function auditRowsCsv(shards: readonly ShardResult[], classNames: readonly string[]): string {
  const byShard = new Map<number, ShardResult>();
  for (const s of shards) if (!byShard.has(s.shard)) byShard.set(s.shard, s);
  const ordered = [...byShard.values()].sort((a, b) => a.shard - b.shard);
  const images = ordered.flatMap((s) => s.images).sort((a, b) => a.index - b.index);
  const attacks = ordered.flatMap((s) => s.attacks).sort((a, b) => a.index - b.index);
  const name = (i: number | null) => (i === null ? null : classNames[i] ?? String(i));
  const out: Cell[][] = [];
  let a = 0;
  for (const img of images) {
    const row = (fields: Partial<Record<(typeof CSV_COLUMNS)[number], Cell>>): Cell[] =>
      CSV_COLUMNS.map((c) => (c in fields ? fields[c]! : null));
    const head = { index: img.index, name: img.name, label: img.label, label_name: name(img.label) };
    while (a < attacks.length && attacks[a].index < img.index) a++;
    if (img.error || !img.clean) {
      out.push(
        row({
          ...head,
          probe: "error",
          error_code: img.error?.code ?? null,
          error_message: img.error?.message ?? null,
        }),
      );
      continue;
    }
    const c = img.clean;
    out.push(row({
      ...head,
      probe: "clean",
      success: !c.correct,
      prediction: c.prediction,
      prediction_name: name(c.prediction),
      value: c.confidence,
      l2: c.gradient?.l2 ?? null,
      squeeze: img.squeeze,
      gradient: c.gradient ? (c.gradient.zero ? "zero" : "nonzero") : null,
    }));
    for (; a < attacks.length && attacks[a].index === img.index; a++) {
      const r = attacks[a];
      out.push(row({
        ...head,
        probe: r.blackBox ? "black-box" : "attack",
        attack: r.attack,
        norm: r.norm,
        eps: r.eps,
        success: r.success,
        iterations: r.iterations,
        prediction: r.prediction,
        prediction_name: name(r.prediction),
        linf: r.perturbation.linf,
        l2: r.perturbation.l2,
        squeeze: r.squeeze,
        gradient: r.gradient,
      }));
    }
    if (img.minimalEpsilon) {
      out.push(
        row({
          ...head,
          probe: "minimal-epsilon",
          norm: "linf",
          success: img.minimalEpsilon.broken,
          value: img.minimalEpsilon.epsilon,
        }),
      );
    }
    if (img.randomization) {
      out.push(row({ ...head, probe: "randomization", value: img.randomization.agreement }));
      const e = img.randomization.eot;
      if (e) {
        out.push(
          row({
            ...head,
            probe: "eot",
            norm: "linf",
            success: e.success,
            prediction: e.prediction,
            prediction_name: name(e.prediction),
            value: e.fooledFraction,
          }),
        );
      }
    }
  }
  return stringify(out, { header: true, columns: [...CSV_COLUMNS], cast: { boolean: (v) => (v ? "true" : "false") } });
}
