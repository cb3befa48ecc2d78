import { RequestError } from "../errors.ts";
import type { Classifier } from "../model/classifier.ts";
import { gradientCostOf } from "../model/gradient_cost.ts";
import { type Prediction, rankPrediction } from "../predict/predict.ts";
import { amplifiedPerturbation, pngBase64 } from "./images.ts";
import { type EffectiveOptions, estimateCheckCost } from "./options.ts";
import type { AnyProbe, AttackReport, Candidate, CleanGradient, SectionOf, SqueezeThreshold } from "./probe.ts";
import { PROBES, type Probes } from "./probes/index.ts";
import { combineScore, fragilityPart, type ScoreParts, squeezePart } from "./score.ts";

export type { ThresholdSource } from "./probe.ts";

type SectionKeys = Extract<Probes[number], { report: "section" }>["key"];
type SectionProbe<K> = Extract<Probes[number], { key: K }>;

/** The probes' report sections, composed from the registry; attack probes share `probes`. */
export type ProbeSections = { [K in SectionKeys]: SectionOf<SectionProbe<K>> | null } & { probes: AttackReport[] };

export type CheckReport =
  & {
    model: { id: string; sha256: string };
    backend: string;
    prediction: Prediction;
    label: { index: number; label: string; source: "request" | "prediction" };
    target: { index: number; label: string } | null;
  }
  & ProbeSections
  & {
    score: number;
    scoreParts: ScoreParts;
    verdict: { suspectedAdversarial: boolean; fragile: boolean; reasons: string[] };
    images?: { source: string; adversarial?: string; perturbation?: string; original?: string };
    cost: { estimated: number; budget: number };
    timings: Record<string, number>;
    seed: number;
    options: EffectiveOptions;
  };

export interface RunCheckInput {
  classifier: Classifier;
  /** One image, CHW in [0,1] at the model's input size. */
  pixels: Float32Array;
  options: EffectiveOptions;
  threshold: SqueezeThreshold;
  budget: number;
  /** Checked between stages and passed to every probe; an aborted check throws its reason. */
  signal?: AbortSignal;
}

/** The per-image check: one batched screening pass → each probe → score → verdict. */
export async function runCheck(input: RunCheckInput): Promise<CheckReport> {
  const { classifier, pixels, options } = input;
  const { labels: names } = classifier.manifest;
  const { channels, height, width } = classifier.manifest.input;
  const shape = { channels, height, width };
  const classes = names.length;
  const timings: Record<string, number> = {};
  const timed = async <T>(stage: string, work: () => T | Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = performance.now() - start;
    }
  };
  const started = performance.now();
  const active = (PROBES as readonly AnyProbe[]).flatMap((probe) => {
    const settings = (options as unknown as Record<string, unknown>)[probe.key];
    return settings === false ? [] : [{ probe, settings }];
  });

  // The clean gradient, when a probe builds screening rows from it: untargeted checks on exact gradients only (a
  // targeted attack's class, and an SPSA estimate's cost, are settled after the screening pass as before). Its
  // logits are then the clean logits (the gradient graph's forward half: the same model, equal to the forward
  // session's up to float rounding), so the clean image is no row of the screening pass.
  let cleanRun: Promise<CleanGradient | undefined> | undefined;
  if (
    active.some(({ probe }) => probe.cleanGradient) && options.target === null && classifier.gradientMode === "exact"
  ) {
    input.signal?.throwIfAborted();
    cleanRun = timed("cleanGradientMs", () => cleanGradientOf(classifier, pixels, options.label));
    // Awaited below; until then a rejection must not count as unhandled.
    cleanRun.catch(() => {});
  }

  // Every probe's screening rows (and the clean image unless the clean gradient brings its logits): one batched
  // forward pass. Rows that do not need the clean gradient are built while the session computes it.
  const screeningRows = (clean: CleanGradient | undefined, fromClean: boolean) =>
    Promise.all(
      active.map(({ probe, settings }) =>
        probe.screening && Boolean(probe.cleanGradient) === fromClean
          ? probe.screening(settings, { classifier, pixels, shape, seed: options.seed, clean }, timed)
          : undefined
      ),
    );
  const independent = await screeningRows(undefined, false);
  const clean = await cleanRun;
  const dependent = await screeningRows(clean, true);
  const rows: Float32Array[] = [
    clean ? new Float32Array() : pixels,
    ...active.map((_, i) => independent[i] ?? dependent[i] ?? new Float32Array()),
  ];
  const screening = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of rows) {
    screening.set(r, offset);
    offset += r.length;
  }
  input.signal?.throwIfAborted();
  const screeningLogits = offset > 0
    ? await timed("screeningForwardMs", () => classifier.logits(screening, offset / pixels.length))
    : new Float32Array();
  const cleanLogits = clean ? clean.result.logits.subarray(0, classes) : screeningLogits.subarray(0, classes);
  const prediction = rankPrediction(cleanLogits, names, options.topK);
  const label = options.label ?? prediction.index;
  if (options.target !== null && options.target === label) {
    // With no label the attacks move away from the prediction, which cannot also be the target.
    const message = `options.target: ${label} ("${
      names[label]
    }") is the predicted class; give another target or a label`;
    throw new RequestError(422, "invalid_options", message);
  }
  const targets = options.target === null ? undefined : [options.target];

  const sections: Record<string, unknown> = {};
  for (const probe of PROBES as readonly AnyProbe[]) {
    if (probe.report === "section") sections[probe.key] = null;
    else sections.probes ??= [];
  }
  const reasons: string[] = [];
  if (options.label !== null && prediction.index !== label) {
    reasons.push(`the clean prediction "${prediction.label}" already differs from the label "${names[label]}"`);
  }
  let suspectedAdversarial = false;
  const candidates: Candidate[] = [];
  let row = rows[0].length / pixels.length;
  for (const [i, { probe, settings }] of active.entries()) {
    const rowCount = rows[i + 1].length / pixels.length;
    const probeLogits = screeningLogits.subarray(row * classes, (row + rowCount) * classes);
    row += rowCount;
    input.signal?.throwIfAborted();
    const outcome = await probe.run(settings, {
      classifier,
      pixels,
      shape,
      seed: options.seed,
      label,
      targets,
      predicted: prediction.index,
      cleanLogits,
      screeningLogits: probeLogits,
      clean: clean?.label === label ? clean : undefined,
      squeezeThreshold: input.threshold,
      timed,
      signal: input.signal,
    });
    if (probe.report === "section") sections[probe.key] = outcome.section;
    else (sections.probes as AttackReport[]).push(...outcome.section);
    const verdict = probe.verdict(outcome.section, names);
    reasons.push(...verdict.reasons);
    suspectedAdversarial ||= verdict.suspicious;
    candidates.push(...outcome.candidates);
  }
  const report = sections as ProbeSections;

  const minimal = report.minimalEpsilon;
  const scoreParts: ScoreParts = {
    fragility: fragilityPart(
      minimal && options.minimalEpsilon
        ? { ...minimal, epsilon: minimal.linf, high: options.minimalEpsilon.high }
        : null,
      report.probes.map((p) => p.success),
    ),
    squeeze: squeezePart(report.squeeze?.joint ?? null, report.squeeze?.threshold ?? null),
    instability: report.randomization ? 1 - report.randomization.agreement : 0,
  };

  let images: CheckReport["images"];
  if (options.return.length > 0) {
    const best = candidates.sort((a, b) => a.linf - b.linf)[0];
    images = { source: best ? best.source : "none: no probe succeeded" };
    if (best && options.return.includes("adversarial")) images.adversarial = pngBase64(best.pixels, shape);
    if (best && options.return.includes("perturbation")) {
      images.perturbation = pngBase64(amplifiedPerturbation(best.pixels, pixels), shape);
    }
    if (options.return.includes("original")) images.original = pngBase64(pixels, shape);
  }

  timings.totalMs = performance.now() - started;
  return {
    model: { id: classifier.manifest.id, sha256: classifier.sha256 },
    backend: classifier.backend,
    prediction,
    label: { index: label, label: names[label], source: options.label === null ? "prediction" : "request" },
    target: options.target === null ? null : { index: options.target, label: names[options.target] },
    ...report,
    score: combineScore(scoreParts),
    scoreParts,
    verdict: { suspectedAdversarial, fragile: report.probes.some((p) => p.success), reasons },
    ...(images ? { images } : {}),
    cost: { estimated: estimateCheckCost(options, gradientCostOf(classifier)), budget: input.budget },
    timings,
    seed: options.seed,
    options,
  };
}

/** ce at the request's label, or at the prediction in the same pass where the classifier can pick it itself. */
async function cleanGradientOf(
  classifier: Classifier,
  pixels: Float32Array,
  label: number | null,
): Promise<CleanGradient | undefined> {
  if (label !== null) return { result: await classifier.gradient(pixels, 1, Int32Array.of(label), "ce"), label };
  if (!classifier.gradientAtPrediction) return undefined;
  const result = await classifier.gradientAtPrediction(pixels, 1, "ce");
  return { result, label: result.labels[0] };
}
