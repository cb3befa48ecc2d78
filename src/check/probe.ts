import type { z } from "zod";
import type { AttackResult } from "../attacks/result.ts";
import type { Classifier, GradientMode, GradientResult } from "../model/classifier.ts";
import type { Manifest } from "../model/manifest.ts";
import type { CheckLimits } from "./limits.ts";

/**
 * Named layers of defaults between the server's and the manifest/request layers (README "Check
 * profiles"): `standard` is the server's defaults; each probe says what the others mean for it.
 */
export const PROFILES = ["screen", "standard", "thorough"] as const;
export type ProfileName = typeof PROFILES[number];

/** What a probe's defaults and limits depend on. */
export interface ModelFacts {
  manifest: Manifest;
  gradientMode: GradientMode;
}

/**
 * Inputs above 64×64 pixels (4× the area of CIFAR-10's, the largest images Xu et al.'s small-image
 * squeezers were chosen for) are "large": each screening row is then a costly forward pass, so the
 * `screen` profile trims its rows (README "Check profiles"). The shipped 28²/32² models are small;
 * 224² ImageNet models and a 48×192 OCR classifier are large.
 */
export const LARGE_INPUT_PIXELS = 64 * 64;

export function isLargeInput({ manifest }: ModelFacts): boolean {
  return manifest.input.height * manifest.input.width > LARGE_INPUT_PIXELS;
}

/** The default L∞ budget of the attacks: 0.1 for greyscale models (MNIST-like), 8/255 for colour ones. */
export function linfBudget({ manifest }: ModelFacts): number {
  return manifest.input.channels === 1 ? 0.1 : 8 / 255;
}

export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

/** A squeeze threshold and where it came from (see squeezeThreshold). */
export type ThresholdSource = "request" | "calibration" | "manifest" | "none";
export interface SqueezeThreshold {
  value: number | null;
  source: ThresholdSource;
}

/** Raised by a probe's `limits`; the service turns it into a 422 naming the limit. */
export class ProbeLimitError extends Error {
  constructor(readonly code: "limit_exceeded" | "invalid_options", message: string) {
    super(message);
  }
}

/** Throws a `limit_exceeded` that starts with the limit's name. */
export function exceeded(limit: string, message: string): never {
  throw new ProbeLimitError("limit_exceeded", `${limit}: ${message}`);
}

/**
 * The `ce` gradient at the clean image against the class an untargeted attack moves away from (the request's label,
 * else the predicted class as the gradient graph computed it), taken before the screening pass when a probe asks for
 * it (`Probe.cleanGradient`), so that the rows it leads to ride in that one batched pass.
 */
export interface CleanGradient {
  result: GradientResult;
  label: number;
}

export interface ScreeningInput {
  classifier: Classifier;
  pixels: Float32Array;
  shape: ImageShape;
  seed: number;
  /** Present when some probe asked for it and the check could take it (untargeted, exact gradients). */
  clean?: CleanGradient;
}

export interface ProbeContext {
  classifier: Classifier;
  /** One image, CHW in [0,1] at the model's input size. */
  pixels: Float32Array;
  shape: ImageShape;
  /** The request seed; each probe derives its own stream with stageSeed. */
  seed: number;
  /** The class attacks move away from, and the target class list when targeted. */
  label: number;
  targets: number[] | undefined;
  /** argmax of the clean logits. */
  predicted: number;
  cleanLogits: Float32Array;
  /** Logits of the rows this probe added to the screening pass (empty when it added none). */
  screeningLogits: Float32Array;
  /**
   * The check's clean gradient, only when its label is the check's `label` (they can differ only where the graph's
   * ArgMax and the service's argmax disagree, e.g. on NaN logits; the probe then starts over from `label`).
   */
  clean?: CleanGradient;
  squeezeThreshold: SqueezeThreshold;
  timed<T>(stage: string, work: () => T | Promise<T>): Promise<T>;
  /** The request's cancellation (deadline, client gone, shutdown): pass it to every attack. */
  signal?: AbortSignal;
}

/** An adversarial image a probe found, offered to `return`. */
export interface Candidate {
  source: string;
  pixels: Float32Array;
  linf: number;
}

export interface ProbeOutcome<Section> {
  section: Section;
  candidates: Candidate[];
}

/**
 * One probe of the check. `Layer` is what a request or a manifest's `defaults.check` may say about
 * it (besides `false`, which turns it off), `Settings` its resolved options, `Section` what it adds
 * to the report: its own section under `key` (`report: "section"`), or attack rows appended to the
 * report's shared `probes` list (`report: "attacks"`).
 */
export interface Probe<
  Key extends string,
  LayerSchema extends z.ZodType,
  Settings,
  Section,
> {
  readonly key: Key;
  readonly report: Section extends readonly AttackReport[] ? "attacks" : "section";
  /** The request/manifest layer schema: `false` or an object (absent key = keep the default). */
  readonly layer: LayerSchema;
  /** The report section's schema (attack probes: the shared AttackReport rows). */
  readonly section: z.ZodType<Section>;
  /** The server's setting for this model (`false` = off unless asked for). */
  serverDefault(model: ModelFacts): Settings | false;
  /** Its settings under the non-standard profiles (`false` = off), for this model. */
  readonly profiles: Record<Exclude<ProfileName, "standard">, (model: ModelFacts) => Settings | false>;
  /** The probe's full defaults: what a layer that turns it back on starts from. */
  fallback(model: ModelFacts): Settings;
  /** Applies one layer over the previous settings (or the fallback when it was off). */
  overlay(previous: Settings, layer: Exclude<z.output<LayerSchema>, false>, fallback: Settings): Settings;
  /** Throws ProbeLimitError (naming the limit) when the settings exceed the server limits. */
  limits(settings: Settings, model: ModelFacts, limits: CheckLimits): void;
  /** Forward-pass equivalents it may spend, screening rows included. */
  cost(settings: Settings, gradientCost: number): number;
  /** Asks for the clean gradient before the screening pass (ScreeningInput.clean). */
  readonly cleanGradient?: true;
  /** Rows it adds to the one batched screening forward pass. */
  screening?(settings: Settings, input: ScreeningInput, timed: ProbeContext["timed"]): Promise<Float32Array>;
  run(settings: Settings, context: ProbeContext): Promise<ProbeOutcome<Section>>;
  /** Verdict reasons, in report order, and whether the section makes the input look adversarial. */
  verdict(section: Section, names: readonly string[]): { reasons: string[]; suspicious: boolean };
}

// deno-lint-ignore no-explicit-any
export type AnyProbe = Probe<string, z.ZodType, any, any>;
export type SettingsOf<P> = P extends Probe<string, z.ZodType, infer S, unknown> ? S : never;
export type SectionOf<P> = P extends Probe<string, z.ZodType, unknown, infer R> ? R : never;

/** The attacks the check's probes run (a probe running another adds it here, and to the report schema). */
export const CHECK_ATTACKS = ["fgsm", "pgd", "eot-pgd"] as const;
export type CheckAttack = typeof CHECK_ATTACKS[number];

/** One FGSM/PGD/EoT-PGD result as the report shows it. */
export interface AttackReport {
  attack: CheckAttack;
  norm: AttackResult["norm"];
  eps: number;
  steps: number;
  alpha: number;
  restarts: number;
  randomStart: boolean;
  targeted: boolean;
  target: number | null;
  loss: AttackResult["loss"];
  success: boolean;
  iterations: number;
  adversarial: { index: number; label: string; confidence: number };
  perturbation: { linf: number; l2: number };
  gradient: AttackResult["gradient"];
}

export function describeAttack(r: AttackResult, randomStart: boolean, names: readonly string[]): AttackReport {
  const attack = r.attack as CheckAttack;
  if (!CHECK_ATTACKS.includes(attack)) throw new RangeError(`the check reports no ${r.attack} results`);
  return {
    attack,
    norm: r.norm,
    eps: r.eps,
    steps: r.steps,
    alpha: r.alpha,
    restarts: r.restarts,
    randomStart,
    targeted: r.targeted,
    target: r.target,
    loss: r.loss,
    success: r.success,
    iterations: r.iterations,
    adversarial: {
      index: r.adversarial.index,
      label: names[r.adversarial.index],
      confidence: r.adversarial.confidence,
    },
    perturbation: r.perturbation,
    gradient: r.gradient,
  };
}

/** The reasons of attack rows: one per success. */
export function attackReasons(rows: readonly AttackReport[]): { reasons: string[]; suspicious: boolean } {
  const reasons = rows.filter((p) => p.success).map((p) =>
    `${p.attack} ${p.norm} ε=${p.eps} changed the prediction to "${p.adversarial.label}" (iteration ${p.iterations})`
  );
  return { reasons, suspicious: false };
}

/** Seeds of the stages, derived from the request seed so that each stage has its own stream. */
export function stageSeed(seed: number, stage: number): number {
  return (seed + Math.imul(stage, 0x9e3779b9)) >>> 0;
}

/** Stage numbers of stageSeed; a new probe takes a number no other uses. */
export const STAGE = { randomization: 1, eot: 2, minimalEpsilon: 3, pgd: 16 } as const;
