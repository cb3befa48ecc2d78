/**
 * Shard rows → the versioned audit report (report_schema.ts; conventions in docs/AUDITS.md).
 * The report is a pure function of the rows: shards are deduplicated by number (a shard
 * delivered twice counts once) and every row is ordered by image index, so the same rows give
 * the same report whatever the order they arrived in (timings apart).
 *
 * Definitions: an image is *evaluated* when it decoded. Robust accuracy of an attack at ε =
 * evaluated images classified correctly and not broken by the attack, over evaluated images. The
 * worst case at (norm, ε) counts an image robust only if every white-box attack with that norm
 * and ε failed on it (SPSA and EoT rows are not part of it). Detection (Xu et al. 2018): the
 * negatives are the joint squeeze scores of the evaluated clean images, the positives those of
 * the successful adversarial examples of correctly classified images (every white-box attack and
 * ε); flagged = score > threshold.
 */
import { computeFlags, type FlagInputs } from "./flags.ts";
import type { EffectivePlan } from "./plan.ts";
import { type AuditReport, REPORT_SCHEMA, REPORT_VERSION } from "./report_schema.ts";
import type { AttackRow, ImageRow, ShardResult } from "./rows.ts";
import { auc, histogram, quantile, roc, wilson } from "./stats.ts";
import { squeezerName } from "../check/squeeze.ts";

export interface ReportInput {
  plan: EffectivePlan;
  shards: readonly ShardResult[];
  model: {
    id: string;
    version?: string | null;
    sha256: string;
    manifest: { labels: string[]; output: { kind: "logits" | "probabilities" } } & Record<string, unknown>;
    backend: string;
    gradientMode: "exact" | "spsa";
  };
  dataset?: { sha256?: string | null; source?: string | null; images?: number | null };
  software?: Record<string, string>;
  started?: string | null;
  finished?: string | null;
  wallMs?: number | null;
}

const QS = [0.1, 0.25, 0.5, 0.75, 0.9] as const;

function quantiles(sorted: readonly number[], aboveIsNull = false) {
  const q = (p: number) => {
    const v = quantile(sorted, p);
    return aboveIsNull && v === Infinity ? null : v;
  };
  return { p10: q(QS[0]), p25: q(QS[1]), p50: q(QS[2]), p75: q(QS[3]), p90: q(QS[4]) };
}

const sumInto = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

export function buildReport(input: ReportInput): AuditReport {
  const { plan, model } = input;
  const names = model.manifest.labels;
  const classes = names.length;
  const byShard = new Map<number, ShardResult>();
  for (const s of input.shards) if (!byShard.has(s.shard)) byShard.set(s.shard, s);
  const shards = [...byShard.values()].sort((a, b) => a.shard - b.shard);
  const images: ImageRow[] = shards.flatMap((s) => s.images).sort((a, b) => a.index - b.index);
  const rows: AttackRow[] = shards.flatMap((s) => s.attacks).sort((a, b) => a.index - b.index);
  const evaluated = images.filter((i) => i.error === null && i.clean !== null);
  const correct = new Map(evaluated.map((i) => [i.index, i.clean!.correct]));
  const labelOf = new Map(images.map((i) => [i.index, i.label]));
  const n = evaluated.length;
  const white = rows.filter((r) => !r.blackBox && correct.has(r.index));

  /** Rows of one (attack, ε) keyed by image. */
  const rowsOf = (attack: string, eps: number) => white.filter((r) => r.attack === attack && r.eps === eps);
  const robustCount = (rs: AttackRow[]) => rs.filter((r) => correct.get(r.index) && !r.success).length;

  const robustness = plan.attacks.flatMap((a) =>
    a.eps.map((eps) => ({
      attack: a.id,
      kind: a.kind,
      norm: a.norm,
      eps,
      accuracy: wilson(robustCount(rowsOf(a.id, eps)), n),
    }))
  );

  const keys = [
    ...new Map(plan.attacks.flatMap((a) => a.eps.map((eps) => [`${a.norm}:${eps}`, { norm: a.norm, eps }]))).values(),
  ]
    .sort((a, b) => (a.norm === b.norm ? a.eps - b.eps : a.norm === "linf" ? -1 : 1));
  /** Per (norm, ε), L∞ first, ε ascending: the images every attack failed on. */
  const robustSets = keys.map(({ norm, eps }) => {
    const attacks = plan.attacks.filter((a) => a.norm === norm && a.eps.includes(eps)).map((a) => a.id);
    const broken = new Set(white.filter((r) => r.norm === norm && r.eps === eps && r.success).map((r) => r.index));
    const robust = new Set(evaluated.filter((i) => i.clean!.correct && !broken.has(i.index)).map((i) => i.index));
    return { norm, eps, attacks, robust };
  });
  const worstCase = robustSets.map((s) => ({
    norm: s.norm,
    eps: s.eps,
    attacks: s.attacks,
    accuracy: wilson(s.robust.size, n),
  }));

  const perClass = names.map((label, index) => {
    const members = evaluated.filter((i) => i.label === index);
    return {
      index,
      label,
      clean: wilson(members.filter((i) => i.clean!.correct).length, members.length),
      worstCase: robustSets.map((s) => ({
        norm: s.norm,
        eps: s.eps,
        accuracy: wilson(members.filter((i) => s.robust.has(i.index)).length, members.length),
      })),
    };
  });

  const confusion = plan.attacks.flatMap((a) =>
    a.eps.map((eps) => {
      const matrix = names.map(() => new Array(classes).fill(0));
      for (const r of rowsOf(a.id, eps)) matrix[labelOf.get(r.index)!][r.prediction]++;
      return { attack: a.id, eps, matrix };
    })
  );

  let minimalEpsilon: AuditReport["minimalEpsilon"] = null;
  if (plan.minimalEpsilon) {
    const m = evaluated.filter((i) => i.minimalEpsilon !== null).map((i) => i.minimalEpsilon!);
    const values = m.map((r) => (r.broken ? r.epsilon! : Infinity)).sort((a, b) => a - b);
    const high = plan.minimalEpsilon.high;
    minimalEpsilon = {
      high,
      images: m.length,
      alreadyWrong: m.filter((r) => r.broken && r.epsilon === 0).length,
      broken: m.filter((r) => r.broken).length,
      unbroken: m.filter((r) => !r.broken).length,
      quantiles: quantiles(values, true),
      histogram: histogram(values.filter(Number.isFinite), 0, high, 10),
    };
  }

  let detection: AuditReport["detection"] = null;
  if (plan.squeeze) {
    const negatives = evaluated.map((i) => i.squeeze).filter((s): s is number => s !== null);
    const adversarial = white.filter((r) =>
      r.success && r.iterations > 0 && correct.get(r.index) && r.squeeze !== null
    );
    const positives = adversarial.map((r) => r.squeeze!);
    const t = plan.squeeze.threshold;
    detection = {
      squeezers: plan.squeeze.squeezers.map(squeezerName),
      threshold: t,
      clean: negatives.length,
      adversarial: positives.length,
      auc: auc(positives, negatives),
      roc: roc(positives, negatives),
      atThreshold: t === null ? null : {
        detectionRate: wilson(positives.filter((s) => s > t).length, positives.length),
        falsePositiveRate: wilson(negatives.filter((s) => s > t).length, negatives.length),
      },
      perAttack: plan.attacks.flatMap((a) =>
        a.eps.map((eps) => {
          const mine = adversarial.filter((r) => r.attack === a.id && r.eps === eps);
          return {
            attack: a.id,
            eps,
            detected: t === null ? null : wilson(mine.filter((r) => r.squeeze! > t).length, mine.length),
          };
        })
      ),
    };
  }

  let randomization: AuditReport["randomization"] = null;
  if (plan.randomization) {
    const r = plan.randomization;
    const withR = evaluated.filter((i) => i.randomization !== null);
    const agreement = withR.map((i) => i.randomization!.agreement).sort((a, b) => a - b);
    const eotRows = withR.filter((i) => i.randomization!.eot !== null);
    randomization = {
      draws: r.draws,
      agreement: {
        mean: agreement.length ? agreement.reduce((a, b) => a + b, 0) / agreement.length : null,
        quantiles: quantiles(agreement),
        histogram: histogram(agreement, 0, 1, 10),
      },
      eot: r.eot
        ? {
          eps: r.eot.eps,
          success: wilson(eotRows.filter((i) => i.randomization!.eot!.success).length, eotRows.length),
        }
        : null,
    };
  }

  let spsa: AuditReport["spsa"] = null;
  const black = rows.filter((r) => r.blackBox && correct.has(r.index));
  if (plan.spsa) {
    const sampled = [...new Set(black.map((r) => r.index))];
    spsa = {
      images: sampled.length,
      eps: plan.spsa.eps.map((eps) => {
        const mine = black.filter((r) => r.eps === eps);
        const set = robustSets.find((s) => s.norm === "linf" && s.eps === eps);
        const broken = mine.filter((r) => r.success && correct.get(r.index));
        return {
          eps,
          success: wilson(mine.filter((r) => r.success).length, mine.length),
          gradientSuccess: set ? wilson(sampled.filter((i) => !set.robust.has(i)).length, sampled.length) : null,
          spsaOnly: set ? broken.filter((r) => set.robust.has(r.index)).length : 0,
        };
      }),
    };
  }

  const withGradient = evaluated.filter((i) => i.clean!.gradient !== null);
  const gradients = { checked: withGradient.length, zero: withGradient.filter((i) => i.clean!.gradient!.zero).length };
  const determinism = shards.reduce(
    (d, s) => ({
      rows: d.rows + s.probes.determinism.rows,
      maxAbsDiff: Math.max(d.maxAbsDiff, s.probes.determinism.maxAbsDiff),
      argmaxChanged: d.argmaxChanged + s.probes.determinism.argmaxChanged,
    }),
    { rows: 0, maxAbsDiff: 0, argmaxChanged: 0 },
  );
  const flagInputs: FlagInputs = {
    attacks: [
      ...plan.attacks.map((a) => ({
        id: a.id,
        kind: a.kind,
        norm: a.norm,
        points: [...a.eps].sort((x, y) => x - y).map((eps) => ({
          eps,
          robust: robustCount(rowsOf(a.id, eps)),
          total: n,
        })),
      })),
      // The worst case too: it can rise with ε when the attacks are not monotone.
      ...(["linf", "l2"] as const).map((norm) => ({
        id: `worst case ${norm === "linf" ? "L∞" : "L2"}`,
        kind: "worst-case",
        norm,
        points: robustSets.filter((s) => s.norm === norm).map((s) => ({ eps: s.eps, robust: s.robust.size, total: n })),
      })),
    ],
    spsa: spsa ? spsa.eps.map((e) => ({ eps: e.eps, images: spsa!.images, spsaOnly: e.spsaOnly })) : [],
    gradients,
    outputKind: model.manifest.output.kind,
    saturated: { count: evaluated.filter((i) => i.clean!.confidence === 1).length, total: n },
    determinism,
    classes,
  };

  const timingsMs: Record<string, number> = {};
  const compute: Record<string, number> = {};
  for (const s of shards) {
    sumInto(timingsMs, s.timings);
    sumInto(compute, s.compute);
  }
  const counts = names.map((label, index) => ({ index, label, count: images.filter((i) => i.label === index).length }));
  return {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    provenance: {
      model: {
        id: model.id,
        version: model.version ?? null,
        sha256: model.sha256,
        manifest: model.manifest,
        backend: model.backend,
        gradientMode: model.gradientMode,
      },
      dataset: {
        sha256: input.dataset?.sha256 ?? null,
        source: input.dataset?.source ?? null,
        datasetImages: input.dataset?.images ?? null,
        images: images.length,
        counts,
      },
      plan,
      seed: plan.seed,
      software: input.software ?? {},
      started: input.started ?? null,
      finished: input.finished ?? null,
      wallMs: input.wallMs ?? null,
      shards: shards.length,
      timingsMs,
      compute,
    },
    images: { total: images.length, evaluated: n, errors: images.length - n },
    errors: images.filter((i) => i.error !== null).map((i) => ({ index: i.index, name: i.name, ...i.error! })),
    clean: { accuracy: wilson(evaluated.filter((i) => i.clean!.correct).length, n) },
    robustness,
    worstCase,
    perClass,
    confusion,
    minimalEpsilon,
    detection,
    randomization,
    spsa,
    gradients,
    determinism,
    flags: computeFlags(flagInputs),
    examples: shards.flatMap((s) => s.examples).sort((a, b) => a.index - b.index).slice(0, plan.examples),
  };
}
