import { fgsm } from "../attacks/fgsm.ts";
import { pgd } from "../attacks/pgd.ts";
import { pgdProbe, type PgdSettings } from "../check/probes/pgd.ts";
import { squeezeProbe } from "../check/probes/squeeze.ts";
import { modelDefaultOptions } from "../check/service.ts";
import { scoresFromLogits, squeezedBatch, type Squeezer, squeezerName } from "../check/squeeze.ts";
import { createRng } from "../../kernels/rng.ts";
import type { Classifier } from "../model/classifier.ts";
import {
  type CandidateFigures,
  type HeldOutFigures,
  type ScoredImage,
  SELECTION_ATTACKS,
  type SelectionAttack,
  selectSqueezers,
  splitIndices,
} from "./select.ts";
import type { Calibration, CalibrationStore } from "./store.ts";

/** What a selection calibration stores and reports (GET /v1/models/{id} shows it). */
export interface SelectionReport {
  seed: number;
  /** sha256 of the calibration data: see {@link calibrationDataSha256}. */
  dataSha256: string;
  attacks: { fgsm: { eps: number }; pgd: PgdSettings };
  counts: {
    images: number;
    selection: number;
    heldOut: number;
    /** Successful adversarial examples per attack in each half (clean-misclassified images excluded). */
    adversarial: Record<"selection" | "heldOut", Record<SelectionAttack, number>>;
  };
  search: { candidates: string[]; maxSetSize: number; sets: number };
  /** Every evaluated set on the selection half, best first. */
  candidates: CandidateFigures[];
  chosen: string[];
  threshold: number;
  /** The chosen set and threshold on the held-out half (images not used to choose). */
  heldOut: HeldOutFigures;
  /** The model's default squeezers before selection, thresholded and measured the same way. */
  baseline: HeldOutFigures;
}

/**
 * Xu et al.'s squeezers for MNIST-like (grey) and CIFAR-like (colour) data: bit depths 1–7 and
 * 2×2/3×3 median for every model, non-local means 11-3-4 and 13-3-2 for colour models.
 */
export function defaultCandidates(model: { manifest: { input: { channels: number } } }): Squeezer[] {
  const squeezers: Squeezer[] = [
    ...[1, 2, 3, 4, 5, 6, 7].map((bits): Squeezer => ({ kind: "bitDepth", bits })),
    { kind: "median", size: 2 },
    { kind: "median", size: 3 },
  ];
  if (model.manifest.input.channels === 3) {
    squeezers.push({ kind: "nonLocalMeans", search: 11, patch: 3, h: 4 });
    squeezers.push({ kind: "nonLocalMeans", search: 13, patch: 3, h: 2 });
  }
  return squeezers;
}

/**
 * The attacks at the model's default budget: its first default L∞ PGD probe (or the server's when
 * the model turns PGD off), and FGSM at the same ε.
 */
export function selectionAttacks(model: Pick<Classifier, "manifest" | "gradientMode">): SelectionReport["attacks"] {
  const options = modelDefaultOptions(model);
  const probe = (options.pgd || []).find((p) => p.norm === "linf") ?? pgdProbe.fallback(model)[0];
  return { fgsm: { eps: probe.eps }, pgd: probe };
}

/**
 * sha256 (hex) of the lines `<sha256 hex of image i's bytes> <label i>\n` in request order: the same
 * images and labels in the same order give the same digest whatever the transport.
 */
export async function calibrationDataSha256(images: readonly Uint8Array[], labels: readonly number[]): Promise<string> {
  const hex = async (bytes: Uint8Array) =>
    Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
  const lines: string[] = [];
  for (const [i, image] of images.entries()) lines.push(`${await hex(image)} ${labels[i]}\n`);
  return await hex(new TextEncoder().encode(lines.join("")));
}

/** Images attacked and squeezed per step: bounds memory and the size of one Worker request. */
const CHUNK = 16;

/**
 * Scores `pixels` (one image) and each squeezed version: the image's own logits and every
 * squeezer's in one batched forward pass. Returns the scores in squeezer order.
 */
async function scoreImage(
  classifier: Classifier,
  pixels: Float32Array,
  squeezers: readonly Squeezer[],
): Promise<Float64Array> {
  const batch = new Float32Array((squeezers.length + 1) * pixels.length);
  batch.set(pixels, 0);
  batch.set(squeezedBatch(pixels, classifier.manifest.input, squeezers), pixels.length);
  const logits = await classifier.logits(batch, squeezers.length + 1);
  const classes = classifier.manifest.labels.length;
  const { scores } = scoresFromLogits(logits.subarray(0, classes), logits.subarray(classes), squeezers);
  return Float64Array.from(squeezers, (s) => scores[squeezerName(s)]);
}

/**
 * Scores every image clean and, where FGSM / PGD succeed, attacked (an attack "succeeds" here only
 * when it changed a correctly classified image's prediction: iterate 0 successes are clean errors).
 * Inference runs in the classifier's session Worker, CHUNK images at a time.
 */
async function scoreImages(input: {
  classifier: Classifier;
  images: readonly Float32Array[];
  labels: readonly number[];
  squeezers: readonly Squeezer[];
  attacks: SelectionReport["attacks"];
  seed: number;
}): Promise<ScoredImage[]> {
  const { classifier, images, labels, squeezers, attacks } = input;
  const out: ScoredImage[] = [];
  for (let start = 0; start < images.length; start += CHUNK) {
    const chunk = images.slice(start, start + CHUNK);
    const chunkLabels = labels.slice(start, start + CHUNK);
    const size = chunk[0].length;
    const pixels = new Float32Array(chunk.length * size);
    chunk.forEach((im, i) => pixels.set(im, i * size));
    const fgsmResults = await fgsm(classifier, pixels, { labels: chunkLabels, eps: [attacks.fgsm.eps] });
    const pgdResults = await pgd(classifier, pixels, { ...attacks.pgd, seed: input.seed + start, labels: chunkLabels });
    for (const [i, clean] of chunk.entries()) {
      const adversarial: ScoredImage["adversarial"] = {};
      const results: Record<
        SelectionAttack,
        { success: boolean; iterations: number; adversarialPixels: Float32Array }
      > = { fgsm: fgsmResults[i][0], pgd: pgdResults[i] };
      for (const attack of SELECTION_ATTACKS) {
        const r = results[attack];
        if (r.success && r.iterations > 0) {
          adversarial[attack] = await scoreImage(classifier, r.adversarialPixels, squeezers);
        }
      }
      out.push({ clean: await scoreImage(classifier, clean, squeezers), adversarial });
    }
  }
  return out;
}

/**
 * Calibration with squeezer selection (see selectSqueezers): splits the labelled clean images with
 * `seed` into a selection half and a held-out half, attacks them, chooses the squeezer set and
 * threshold on the selection half, measures them (and the model's previous default set) on the held
 * out half, and stores the set, threshold and report for this model file.
 */
export async function calibrateWithSelection(input: {
  classifier: Classifier;
  images: readonly Float32Array[];
  labels: readonly number[];
  dataSha256: string;
  candidates: readonly Squeezer[];
  targetFpr: number;
  seed: number;
  store: CalibrationStore;
  now?: Date;
}): Promise<Calibration & { set: Squeezer[]; selection: SelectionReport }> {
  const { classifier, targetFpr } = input;
  const defaults = modelDefaultOptions(classifier).squeeze || squeezeProbe.fallback(classifier);
  // Every squeezer scored once; candidate and baseline sets index into this list.
  const squeezers: Squeezer[] = [];
  const indexOf = (s: Squeezer) => {
    const at = squeezers.findIndex((t) => squeezerName(t) === squeezerName(s));
    return at >= 0 ? at : squeezers.push(s) - 1;
  };
  const candidates = input.candidates.map(indexOf);
  const baseline = defaults.squeezers.map(indexOf);
  const attacks = selectionAttacks(classifier);
  const scored = await scoreImages({ ...input, squeezers, attacks });
  const rng = createRng(input.seed);
  const split = splitIndices(scored.length, () => rng.next());
  const selection = split.selection.map((i) => scored[i]);
  const heldOut = split.heldOut.map((i) => scored[i]);
  const outcome = selectSqueezers({ squeezers, candidates, baseline, selection, heldOut, targetFpr });
  const count = (half: ScoredImage[]) =>
    Object.fromEntries(SELECTION_ATTACKS.map((a) => [a, half.filter((im) => im.adversarial[a]).length])) as Record<
      SelectionAttack,
      number
    >;
  const report: SelectionReport = {
    seed: input.seed,
    dataSha256: input.dataSha256,
    attacks,
    counts: {
      images: scored.length,
      selection: selection.length,
      heldOut: heldOut.length,
      adversarial: { selection: count(selection), heldOut: count(heldOut) },
    },
    search: outcome.search,
    candidates: outcome.candidates,
    chosen: outcome.chosen.map(squeezerName),
    threshold: outcome.threshold,
    heldOut: outcome.heldOut,
    baseline: outcome.baseline!,
  };
  const calibration = {
    threshold: outcome.threshold,
    targetFpr,
    fpr: outcome.selectionFpr,
    count: selection.length,
    squeezers: report.chosen,
    calibratedAt: (input.now ?? new Date()).toISOString(),
    set: outcome.chosen,
    selection: report,
  };
  await input.store.set(classifier.manifest.id, classifier.sha256, calibration);
  return calibration;
}
