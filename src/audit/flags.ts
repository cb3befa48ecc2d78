/**
 * Warnings about the evaluation itself, in the spirit of AutoAttack's checks (Croce & Hein 2020):
 * each flag has a stable `code`, a `message` with what was observed, what it may `mean`, and what
 * to do (`action`). Each rule is a small pure function of the report's aggregates.
 */

export interface Flag {
  code: FlagCode;
  severity: "info" | "warning";
  message: string;
  meaning: string;
  action: string;
}

export type FlagCode =
  | "robust_accuracy_increases_with_eps"
  | "iterative_weaker_than_fgsm"
  | "spsa_stronger_than_gradients"
  | "many_zero_gradients"
  | "probability_outputs"
  | "softmax_saturation"
  | "nondeterministic_outputs"
  | "too_few_classes_for_dlr";

/** Share of images above which zero gradients / saturated softmax are flagged. */
export const SHARE_THRESHOLD = 0.05;

export interface FlagInputs {
  /** Robust counts per attack (white-box ones) and per worst case (kind `worst-case`), ε ascending. */
  attacks: { id: string; kind: string; norm: string; points: { eps: number; robust: number; total: number }[] }[];
  /** SPSA check per ε: images where SPSA succeeded and every white-box attack at that (L∞, ε) failed. */
  spsa: { eps: number; images: number; spsaOnly: number }[];
  gradients: { checked: number; zero: number };
  outputKind: "logits" | "probabilities";
  /** Images whose clean top softmax probability is exactly 1 in float32. */
  saturated: { count: number; total: number };
  determinism: { rows: number; maxAbsDiff: number; argmaxChanged: number };
  classes: number;
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function computeFlags(f: FlagInputs): Flag[] {
  const flags: Flag[] = [];
  for (const a of f.attacks) {
    for (let k = 1; k < a.points.length; k++) {
      const [lo, hi] = [a.points[k - 1], a.points[k]];
      if (hi.robust > lo.robust) {
        flags.push({
          code: "robust_accuracy_increases_with_eps",
          severity: "warning",
          message:
            `${a.id}: robust accuracy rises from ${lo.robust}/${lo.total} at ε=${lo.eps} to ${hi.robust}/${hi.total} at ε=${hi.eps}`,
          meaning:
            "A larger budget contains every smaller one, so a correct attack can only do better with it: the attack is failing to optimise (step size too small or too large for some ε, too few steps, gradient masking).",
          action:
            "Use more steps or restarts, check α (2.5·ε/steps), and trust the smaller robust accuracy; add random starts.",
        });
        break;
      }
    }
  }
  const fgsm = f.attacks.filter((a) => a.kind === "fgsm");
  for (const a of f.attacks.filter((a) => a.kind !== "fgsm" && a.kind !== "worst-case" && a.norm === "linf")) {
    for (const p of a.points) {
      for (const g of fgsm) {
        const q = g.points.find((q) => q.eps === p.eps);
        if (q && p.robust > q.robust) {
          flags.push({
            code: "iterative_weaker_than_fgsm",
            severity: "warning",
            message:
              `${a.id} leaves ${p.robust}/${p.total} images robust at ε=${p.eps}, FGSM only ${q.robust}/${q.total}`,
            meaning:
              "An iterative attack starts where FGSM does and takes more steps, so it should never be weaker: a sign of gradient masking or a too-small step size.",
            action:
              "Increase steps and α, add restarts, try a margin loss; report the FGSM number as the upper bound meanwhile.",
          });
        }
      }
    }
  }
  for (const s of f.spsa) {
    if (s.spsaOnly > 0) {
      flags.push({
        code: "spsa_stronger_than_gradients",
        severity: "warning",
        message:
          `at ε=${s.eps}, the black-box SPSA attack broke ${s.spsaOnly} of ${s.images} sampled images that every gradient attack failed on`,
        meaning:
          "A gradient-free attack beating exact-gradient attacks means the gradients mislead (gradient masking or obfuscation): white-box robust accuracy overestimates robustness.",
        action:
          "Do not trust the white-box numbers; run more SPSA images and steps, EoT, or attacks on a differentiable surrogate (BPDA).",
      });
    }
  }
  if (f.gradients.checked > 0 && f.gradients.zero / f.gradients.checked > SHARE_THRESHOLD) {
    flags.push({
      code: "many_zero_gradients",
      severity: "warning",
      message: `${f.gradients.zero} of ${f.gradients.checked} clean images (${
        pct(f.gradients.zero / f.gradients.checked)
      }) have an all-zero loss gradient`,
      meaning:
        "Gradient attacks cannot move from a zero gradient, so these images look robust without being so (saturated softmax, quantisation, non-differentiable preprocessing).",
      action:
        "Use a margin or DLR loss (scale-invariant), check for saturation, and rely on SPSA/black-box results for these images.",
    });
  }
  if (f.outputKind === "probabilities") {
    flags.push({
      code: "probability_outputs",
      severity: "info",
      message: "the model outputs probabilities; logits are taken as log(max(p, 1e-30))",
      meaning:
        "Probabilities that round to 0 or 1 in float32 lose the logit information gradients need; attacks can be weakened near saturation.",
      action: "Export the model without its final softmax if you can.",
    });
  }
  if (f.saturated.total > 0 && f.saturated.count / f.saturated.total > SHARE_THRESHOLD) {
    flags.push({
      code: "softmax_saturation",
      severity: "warning",
      message: `${f.saturated.count} of ${f.saturated.total} clean images (${
        pct(f.saturated.count / f.saturated.total)
      }) have a top softmax probability of exactly 1 in float32`,
      meaning:
        "At p = 1 the cross-entropy gradient underflows to zero, masking gradients (often from very large logits or temperature scaling).",
      action: "Attack with a margin or DLR loss, or divide the logits by a temperature for the attack.",
    });
  }
  if (f.determinism.maxAbsDiff > 0) {
    flags.push({
      code: "nondeterministic_outputs",
      severity: "warning",
      message:
        `the same inputs run twice gave logits differing by up to ${f.determinism.maxAbsDiff} (${f.determinism.argmaxChanged} of ${f.determinism.rows} predictions changed)`,
      meaning:
        "Randomness in the model (dropout left on, stochastic layers) or a non-deterministic backend: attacks then see a moving target and results are not reproducible.",
      action:
        "Put the model in inference mode (export with model.eval()), pin the backend's threads, or evaluate with EoT.",
    });
  }
  if (f.classes < 4) {
    flags.push({
      code: "too_few_classes_for_dlr",
      severity: "info",
      message: `the model has ${f.classes} classes`,
      meaning:
        "The DLR loss of APGD-DLR divides by z_π1 − z_π3 (and its targeted form by z_π1 − ½(z_π3 + z_π4)), which needs at least 3 (4) classes.",
      action: "Use the CE or margin loss for this model; ignore APGD-DLR results.",
    });
  }
  return flags;
}
