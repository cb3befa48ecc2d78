/**
 * Readers for the torch reference fixtures of tools/attack_fixtures.py (tests/fixtures/attacks/)
 * and the committed images they were computed on.
 */
import { Buffer } from "node:buffer";
import { PNG } from "pngjs";
import type { Classifier, LossKind } from "../../model/classifier.ts";
import { ModelSpecSchema } from "../../model/manifest.ts";
import type { InferenceEngine } from "../../runtime/engine.ts";
import { loadClassifier, type OnnxClassifier } from "../../runtime/onnx_classifier.ts";
import { minimalEpsilon, type MinimalEpsilonResult } from "../minimal_epsilon.ts";
import type { NormName } from "../result.ts";

const ROOT = new URL("../../../", import.meta.url);

export interface PgdFixture {
  name: string;
  norm: NormName;
  eps: number;
  alpha: number;
  steps: number;
  loss: LossKind;
  /** Targeted configurations aim at (label + 1) mod classes. */
  targeted: boolean;
  success: number[];
  iterations: number[];
}

export interface AttackFixture {
  model: string;
  /** SHA-256 (hex) of the model.onnx the reference was computed on. */
  modelSha256: string;
  /** Clean argmax per image. */
  clean: number[];
  fgsm: { eps: number[]; loss: LossKind; success: number[][] };
  pgd: PgdFixture[];
  minimalEpsilon: {
    low: number;
    high: number;
    bisectionSteps: number;
    steps: number;
    alphaFactor: number;
    loss: LossKind;
    /** The first `images` images were searched. */
    images: number;
    epsilon: (number | null)[];
  };
}

/** A path relative to the repository root. */
export function repoUrl(path: string): URL {
  return new URL(path, ROOT);
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The model folder `dir` (relative to the repository root) loaded on `engine`. */
export async function loadFixtureModel(dir: string, engine: InferenceEngine): Promise<OnnxClassifier> {
  // The model spec alone: the attacks test needs no check defaults (and registry/ would be a folder cycle).
  const manifest = ModelSpecSchema.parse(JSON.parse(await Deno.readTextFile(repoUrl(dir + "manifest.json"))));
  const modelBytes = await Deno.readFile(repoUrl(dir + "model.onnx"));
  return await loadClassifier({ engine, manifest, modelBytes, sha256: await sha256Hex(modelBytes) });
}

export async function readAttackFixture(id: string): Promise<AttackFixture> {
  return JSON.parse(await Deno.readTextFile(repoUrl(`tests/fixtures/attacks/${id}.json`)));
}

/** tests/fixtures/<set>/ PNGs in labels.json order as NCHW pixels p = byte / 255. */
export async function readFixtureImages(
  set: string,
  channels: number,
): Promise<{ pixels: Float32Array; labels: number[] }> {
  const dir = repoUrl(`tests/fixtures/${set}/`);
  const entries: { file: string; label: number }[] = JSON.parse(
    await Deno.readTextFile(new URL("labels.json", dir)),
  );
  const images: Float32Array[] = [];
  for (const e of entries) {
    // pngjs expands grey and RGB to RGBA; grey is the red byte.
    const png = PNG.sync.read(Buffer.from(await Deno.readFile(new URL(e.file, dir))));
    const plane = png.width * png.height;
    const chw = new Float32Array(channels * plane);
    for (let c = 0; c < channels; c++) {
      for (let k = 0; k < plane; k++) chw[c * plane + k] = png.data[4 * k + c] / 255;
    }
    images.push(chw);
  }
  const pixels = new Float32Array(images.reduce((n, c) => n + c.length, 0));
  images.forEach((c, i) => pixels.set(c, i * c.length));
  return { pixels, labels: entries.map((e) => e.label) };
}

/** Share of images whose success flag matches the reference's 0/1 flag. */
export function agreement(ours: readonly boolean[], reference: readonly number[]): number {
  return ours.filter((v, i) => v === (reference[i] === 1)).length / ours.length;
}

/** Share of minimal-ε answers within `tolerance` of the reference (null must match null). */
export function epsilonAgreement(
  ours: readonly (number | null)[],
  reference: readonly (number | null)[],
  tolerance: number,
): number {
  const close = ours.filter((e, i) => {
    const ref = reference[i];
    return e === null || ref === null ? e === ref : Math.abs(e - ref) <= tolerance;
  });
  return close.length / ours.length;
}

/**
 * Runs the fixture's minimal-ε search on its first `images` images and returns our results with
 * the share within one bisection step of the reference.
 */
export async function minimalEpsilonVsReference(
  classifier: Classifier,
  pixels: Float32Array,
  labels: readonly number[],
  me: AttackFixture["minimalEpsilon"],
): Promise<{ results: MinimalEpsilonResult[]; agreement: number }> {
  const size = pixels.length / labels.length;
  const results = await minimalEpsilon(classifier, pixels.subarray(0, me.images * size), {
    labels: labels.slice(0, me.images),
    low: me.low,
    high: me.high,
    bisectionSteps: me.bisectionSteps,
    steps: me.steps,
    alphaFactor: me.alphaFactor,
    randomStart: false,
    seed: 0,
    loss: me.loss,
  });
  const tolerance = (me.high - me.low) / 2 ** me.bisectionSteps + 1e-12;
  return { results, agreement: epsilonAgreement(results.map((r) => r.epsilon), me.epsilon, tolerance) };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
