/**
 * The mutants of the mutation run (tools/mutation.ts): small, realistic bugs, one at a time. Each
 * names where it applies (`file`: a file, or a folder when the code is likely to move between files
 * — then the one non-test .ts file under it holding `search` exactly once), the exact text it
 * replaces and the test files that should catch it. `issue: 15` marks the eight bugs the suite
 * missed before issue 15. `also` lists the same bug in another known shape of the code (e.g. on a
 * branch that refactors it); the first edit whose text is found exactly once is applied.
 */
export interface Edit {
  search: string;
  replace: string;
}

export interface Mutant extends Edit {
  id: string;
  file: string;
  tests: string[];
  issue?: number;
  also?: Edit[];
}

const ATTACKS = [
  "src/attacks/pgd_test.ts",
  "src/attacks/pgd_restarts_test.ts",
  "src/attacks/fgsm_test.ts",
  "src/attacks/eot_pgd_test.ts",
  "src/attacks/eot_pgd_targeted_test.ts",
  "src/attacks/minimal_epsilon_test.ts",
  "src/attacks/linear_reference_test.ts",
];
const CHECK_HTTP = ["tests/check_conventions_test.ts", "tests/check_test.ts"];
const rules = (...names: string[]) => [
  ...names.map((n) => `src/autodiff/rules/${n}_test.ts`),
  "src/autodiff/rules/exporter_patterns_test.ts",
];

export const MUTANTS: Mutant[] = [
  // The eight bugs of issue 15.
  {
    id: "pgd-restarts-share-noise",
    issue: 15,
    file: "src/attacks/pgd.ts",
    search: "norm.randomStart(origin, rows, options.eps, createRng(options.seed))",
    // A fresh generator per restart, seeded alike: every restart of an image starts from the same noise.
    replace: "((s) => { for (let r = 0; r < rows; r++) s.set(norm.randomStart(origin.subarray(r * size, " +
      "(r + 1) * size), 1, options.eps, createRng(options.seed)), r * size); return s; })(new Float32Array(rows * size))",
    tests: ATTACKS,
  },
  {
    id: "batchnorm-backward-without-eps",
    issue: 15,
    file: "src/autodiff/rules/norm.ts",
    search: 'b.op("Sqrt", [b.op("Add", [ctx.input(4), b.constF32([eps], [])])])',
    replace: 'b.op("Sqrt", [ctx.input(4)])',
    tests: rules("norm"),
  },
  {
    id: "avgpool-divisor-ignores-count-include-pad",
    issue: 15,
    file: "src/autodiff/rules/pool.ts",
    search: 'b.op("Mul", [b.op("Mul", [g!, r]), b.constF32(inv, [1, 1, ...win.out])])',
    replace: 'b.op("Mul", [g!, b.constF32(inv, [1, 1, ...win.out])])',
    tests: rules("pool"),
  },
  {
    id: "softmax-default-axis-1-at-opset-13",
    issue: 15,
    file: "src/autodiff/rules/softmax.ts",
    search: 'attrInt(ctx.node, "axis", ctx.opset >= 13 ? -1 : 1)',
    replace: 'attrInt(ctx.node, "axis", 1)',
    tests: rules("softmax"),
  },
  {
    id: "threshold-index-floor",
    issue: 15,
    file: "src/calibration/threshold.ts",
    search: "Math.ceil(sorted.length * (1 - fpr))",
    replace: "Math.floor(sorted.length * (1 - fpr))",
    tests: ["src/calibration/threshold_test.ts", "tests/check_conventions_test.ts"],
  },
  {
    id: "score-weights-swapped",
    issue: 15,
    file: "src/check/",
    search: "0.5 * parts.fragility + 0.3 * parts.squeeze",
    replace: "0.3 * parts.fragility + 0.5 * parts.squeeze",
    tests: CHECK_HTTP,
  },
  {
    id: "agreement-against-requested-label",
    issue: 15,
    file: "src/check/",
    search: "votesFromLogits(drawLogits, r.draws, classes, prediction.index)",
    replace: "votesFromLogits(drawLogits, r.draws, classes, label)",
    also: [{
      search: "votesFromLogits(context.screeningLogits, r.draws, names.length, context.predicted)",
      replace: "votesFromLogits(context.screeningLogits, r.draws, names.length, context.label)",
    }],
    tests: CHECK_HTTP,
  },
  {
    id: "targeted-eot-counts-any-miss",
    issue: 15,
    file: "src/attacks/eot_pgd.ts",
    search: "if (target !== null ? p === target : p !== labels[i]) fooled++;",
    replace: "if (p !== labels[i]) fooled++;",
    tests: ATTACKS,
  },

  // kernels/
  {
    id: "sign-of-zero-is-one",
    file: "kernels/norms.ts",
    search: "dst[i] = g[i] > 0 ? alpha : g[i] < 0 ? -alpha : 0;",
    replace: "dst[i] = g[i] >= 0 ? alpha : -alpha;",
    tests: ["kernels/norms_test.ts", ...ATTACKS],
  },
  {
    id: "l2-projection-always-to-sphere",
    file: "kernels/norms.ts",
    search: "Math.min(1, eps / Math.max(Math.sqrt(s), NORM_FLOOR))",
    replace: "eps / Math.max(Math.sqrt(s), NORM_FLOOR)",
    tests: ["kernels/norms_test.ts", ...ATTACKS],
  },
  {
    id: "l2-random-start-radius-linear",
    file: "kernels/norms.ts",
    search: "eps * rng() ** (1 / rowSize)",
    replace: "eps * rng()",
    tests: ["kernels/norms_test.ts", ...ATTACKS],
  },
  {
    id: "argmax-ties-to-last",
    file: "kernels/softmax.ts",
    search: "if (z[o + j] > z[o + best]) best = j;",
    replace: "if (z[o + j] >= z[o + best]) best = j;",
    tests: ["kernels/softmax_test.ts", ...ATTACKS],
  },
  {
    id: "probability-floor-1e-12",
    file: "kernels/softmax.ts",
    search: "export const PROBABILITY_FLOOR = 1e-30;",
    replace: "export const PROBABILITY_FLOOR = 1e-12;",
    tests: ["kernels/softmax_test.ts"],
  },
  {
    id: "bit-depth-rounds-half-up",
    file: "kernels/squeeze.ts",
    search: "return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;",
    replace: "return r;",
    tests: ["kernels/squeeze_test.ts", "tests/check_conventions_test.ts"],
  },
  {
    id: "median-even-window-shifted",
    file: "kernels/squeeze.ts",
    search: "const before = Math.floor(k / 2);",
    replace: "const before = Math.floor((k - 1) / 2);",
    tests: ["kernels/squeeze_test.ts", "tests/check_conventions_test.ts"],
  },
  {
    id: "median-lower-for-even-window",
    file: "kernels/squeeze.ts",
    search: "const rank = Math.floor((k * k) / 2);",
    replace: "const rank = Math.floor((k * k - 1) / 2);",
    tests: ["kernels/squeeze_test.ts", "tests/check_conventions_test.ts"],
  },
  {
    id: "resize-pad-top-inclusive",
    file: "kernels/resize.ts",
    search: "const top = Math.floor(rng() * (canvas - size));",
    replace: "const top = Math.floor(rng() * (canvas - size + 1));",
    tests: ["kernels/resize_test.ts", "src/attacks/eot_pgd_test.ts", "tests/check_conventions_test.ts"],
  },
  {
    id: "rng-no-warm-up",
    file: "kernels/rng.ts",
    search: "const WARM_UP_OUTPUTS = 32;",
    replace: "const WARM_UP_OUTPUTS = 0;",
    tests: ["kernels/rng_test.ts", "tests/check_conventions_test.ts"],
  },
  {
    id: "margin-includes-true-class",
    file: "kernels/loss.ts",
    search: "if (j !== y) other = Math.max(other, logits[base + j]);",
    replace: "other = Math.max(other, logits[base + j]);",
    tests: ["kernels/loss_test.ts"],
  },
  {
    id: "linf-projection-one-sided",
    file: "kernels/norms.ts",
    search: "(d > eps ? eps : d < -eps ? -eps : d)",
    replace: "(d > eps ? eps : d)",
    tests: ["kernels/norms_test.ts", ...ATTACKS],
  },
  {
    id: "nearest-resize-rounds",
    file: "kernels/resize.ts",
    search: "map[i] = Math.floor((i * inSize) / outSize);",
    replace: "map[i] = Math.min(inSize - 1, Math.round((i * inSize) / outSize));",
    tests: ["kernels/resize_test.ts", "src/attacks/eot_pgd_test.ts", "tests/check_conventions_test.ts"],
  },

  // src/attacks/
  {
    id: "engine-targeted-ascends",
    file: "src/attacks/engine.ts",
    search: "const sign = p.targeted ? -1 : 1;",
    replace: "const sign = 1;",
    tests: ATTACKS,
  },
  {
    id: "engine-reports-last-success",
    file: "src/attacks/engine.ts",
    search: "if (success[g] === null && isAdversarial(z, r)) {",
    replace: "if (isAdversarial(z, r)) {",
    tests: ATTACKS,
  },
  {
    id: "fgsm-targeted-ascends",
    file: "src/attacks/fgsm.ts",
    search: "const sign = targets ? -1 : 1;",
    replace: "const sign = 1;",
    tests: ATTACKS,
  },
  {
    id: "pgd-failure-reports-best-restart-wrongly",
    file: "src/attacks/pgd.ts",
    search: "? p[k * classes + cls] < p[best * classes + cls]",
    replace: "? p[k * classes + cls] > p[best * classes + cls]",
    tests: ATTACKS,
  },
  {
    id: "minimal-eps-reports-lower-end",
    file: "src/attacks/minimal_epsilon.ts",
    search: "return { broken: true, epsilon: hi[i], bounds: [lo[i], hi[i]]",
    replace: "return { broken: true, epsilon: lo[i], bounds: [lo[i], hi[i]]",
    tests: ATTACKS,
  },
  {
    id: "minimal-eps-skips-high-check",
    file: "src/attacks/minimal_epsilon.ts",
    search: "const open = correct.filter((_, k) => highOk[k]);",
    replace: "const open = correct.slice();",
    tests: ATTACKS,
  },
  {
    id: "eot-success-at-half",
    file: "src/attacks/eot_pgd.ts",
    search: "success: fooledFraction > 0.5,",
    replace: "success: fooledFraction >= 0.5,",
    tests: ATTACKS,
  },

  // src/autodiff/rules/
  {
    id: "gemm-backward-drops-alpha",
    file: "src/autodiff/rules/gemm.ts",
    search: "const ga = scale(b, g!, alpha);",
    replace: "const ga = g!;",
    tests: rules("gemm"),
  },
  {
    id: "div-backward-sign",
    file: "src/autodiff/rules/elementwise.ts",
    search: 'return b.op("Neg", [b.op("Div", [b.op("Mul", [g, x]), b.op("Mul", [y, y])])]);',
    replace: 'return b.op("Div", [b.op("Mul", [g, x]), b.op("Mul", [y, y])]);',
    tests: rules("elementwise"),
  },
  {
    id: "reduce-mean-backward-no-count",
    file: "src/autodiff/rules/reduce.ts",
    search: 'b.op("Div", [up, b.constF32([count], [])])',
    replace: 'b.op("Identity", [up])',
    tests: rules("reduce"),
  },
  {
    id: "layernorm-backward-drops-xhat-term",
    file: "src/autodiff/rules/norm.ts",
    search: 'b.op("Sub", [b.op("Sub", [u, m1]), b.op("Mul", [xhat, m2])])',
    replace: 'b.op("Sub", [u, m1])',
    tests: rules("norm"),
  },
  {
    id: "same-upper-lower-swapped",
    file: "src/autodiff/rules/window.ts",
    search: 'pb = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);',
    replace: 'pb = autoPad === "SAME_UPPER" ? Math.ceil(total / 2) : Math.floor(total / 2);',
    tests: rules("conv", "pool"),
  },
  {
    id: "leaky-relu-default-alpha",
    file: "src/autodiff/rules/activation.ts",
    search: 'const alpha = attrFloat(ctx.node, "alpha", 0.01);',
    replace: 'const alpha = attrFloat(ctx.node, "alpha", 0.2);',
    tests: rules("activation"),
  },
  {
    id: "hardsigmoid-default-beta",
    file: "src/autodiff/rules/activation.ts",
    search: 'beta = attrFloat(ctx.node, "beta", 0.5)',
    replace: 'beta = attrFloat(ctx.node, "beta", 0.6)',
    tests: rules("activation"),
  },
  {
    id: "maxpool-mask-last-tie",
    file: "src/autodiff/rules/pool.ts",
    search: 'b.op("ArgMax", [hits], { axis: { i: 2 }, keepdims: { i: 1 } })',
    replace: 'b.op("ArgMax", [hits], { axis: { i: 2 }, keepdims: { i: 1 }, select_last_index: { i: 1 } })',
    also: [{
      search: 'b.op("ArgMax", [patches], { axis: { i: 2 }, keepdims: { i: 1 } })',
      replace: 'b.op("ArgMax", [patches], { axis: { i: 2 }, keepdims: { i: 1 }, select_last_index: { i: 1 } })',
    }],
    tests: rules("pool"),
  },

  // src/check/ (keyed by folder: the probe-registry refactor moves these lines between files)
  {
    id: "suspected-at-half-agreement",
    file: "src/check/",
    search: "randomization !== null && randomization.agreement < 0.5",
    replace: "randomization !== null && randomization.agreement <= 0.5",
    also: [{ search: "suspicious: section.agreement < 0.5,", replace: "suspicious: section.agreement <= 0.5," }],
    tests: CHECK_HTTP,
  },
  {
    id: "flagged-at-threshold",
    file: "src/check/",
    search: "flagged: threshold !== null && scores.joint > threshold",
    replace: "flagged: threshold !== null && scores.joint >= threshold",
    tests: CHECK_HTTP,
  },
  {
    id: "squeeze-part-without-half",
    file: "src/check/",
    search: "threshold ? joint / (2 * threshold) : joint / 2",
    replace: "threshold ? joint / threshold : joint / 2",
    tests: CHECK_HTTP,
  },
  {
    id: "fragility-inverted",
    file: "src/check/",
    search: "clip01(1 - (minimal.epsilon ?? 0) / minimal.high)",
    replace: "clip01((minimal.epsilon ?? 0) / minimal.high)",
    tests: CHECK_HTTP,
  },
  {
    id: "fragility-any-probe",
    file: "src/check/",
    search: "probeSuccesses.filter(Boolean).length / probeSuccesses.length",
    replace: "(probeSuccesses.some(Boolean) ? 1 : 0)",
    tests: CHECK_HTTP,
  },
  {
    id: "stage-seed-without-golden-ratio",
    file: "src/check/",
    search: "(seed + Math.imul(stage, 0x9e3779b9)) >>> 0",
    replace: "(seed + stage) >>> 0",
    tests: CHECK_HTTP,
  },
  {
    id: "squeeze-score-l2",
    file: "src/check/",
    search: "l1 += Math.abs(clean[j] - squeezed[i * classes + j]);",
    replace: "l1 += (clean[j] - squeezed[i * classes + j]) ** 2;",
    tests: CHECK_HTTP,
  },
  {
    id: "madry-alpha-default",
    file: "src/check/",
    search: "alpha: p.alpha ?? 2.5 * p.eps / p.steps",
    replace: "alpha: p.alpha ?? p.eps / p.steps",
    also: [{ search: "return 2.5 * eps / steps;", replace: "return eps / steps;" }],
    tests: CHECK_HTTP,
  },

  {
    id: "fragile-needs-every-probe",
    file: "src/check/",
    search: "const fragile = probes.some((p) => p.success);",
    replace: "const fragile = probes.length > 0 && probes.every((p) => p.success);",
    also: [{
      search: "fragile: report.probes.some((p) => p.success)",
      replace: "fragile: report.probes.length > 0 && report.probes.every((p) => p.success)",
    }],
    tests: CHECK_HTTP,
  },
  {
    id: "calibration-overrides-request-threshold",
    file: "src/check/",
    search: "if (requestThreshold !== undefined) threshold =",
    replace: "if (requestThreshold !== undefined && !calibration) threshold =",
    also: [{
      search: "if (request?.threshold !== undefined) return",
      replace: "if (request?.threshold !== undefined && !calibration) return",
    }],
    tests: CHECK_HTTP,
  },

  // src/calibration/
  {
    id: "calibration-fpr-counts-ties",
    file: "src/calibration/threshold.ts",
    search: "sorted.filter((s) => s > threshold).length",
    replace: "sorted.filter((s) => s >= threshold).length",
    tests: ["src/calibration/threshold_test.ts", "tests/check_conventions_test.ts", "tests/calibrate_test.ts"],
  },
];
