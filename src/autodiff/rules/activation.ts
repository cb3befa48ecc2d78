/**
 * Pointwise activations. Conventions at kinks follow torch autograd: Relu/LeakyRelu/PRelu pass
 * the gradient only where x > 0 (else 0 / α / slope); Clip passes it strictly inside (min, max)
 * (like torch's hardtanh/ReLU6), HardSigmoid strictly where 0 < αx+β < 1, HardSwish is 0 for
 * x < −3, g·(x/3 + 1/2) for −3 ≤ x ≤ 3, g above. Clip min/max are inputs from opset 11 and
 * attributes before. Pow needs a constant scalar exponent p: ∂ = p·x^(p−1). Erf: ∂ = 2/√π·e^(−x²).
 * Softplus, Mish, Elu, Selu, Celu and Gelu (opset 20, both approximations) below; the
 * exponential-linear units take the negative branch at x = 0 like torch.
 */
import { attrFloat, attrString } from "../graph.ts";
import { DataType } from "../proto.ts";
import { RuleError } from "../errors.ts";
import { broadcast, knownShape } from "./shape.ts";
import type { OpRule, RuleContext } from "./types.ts";
import { reluMaskedByMaxPool } from "./pool.ts";
import { formulation } from "./formulations.ts";

const same: OpRule["infer"] = (ctx) => [{ shape: ctx.info(0).shape, elemType: ctx.info(0).elemType }];

function pointwise(backward: (ctx: RuleContext, g: string) => string): OpRule {
  return { infer: same, backward: (ctx, [g]) => [backward(ctx, g!)] };
}

const zero = (ctx: RuleContext) => ctx.b.constF32([0], []);
const f = (ctx: RuleContext, v: number) => ctx.b.constF32([v], []);
const y = (ctx: RuleContext) => ctx.node.output[0];
const x = (ctx: RuleContext) => ctx.input(0);

// The mask reads the output (y > 0 ⇔ x > 0), so the runtime can still fuse the producer with the Relu.
export const reluRule: OpRule = pointwise((ctx, g) => {
  if (reluMaskedByMaxPool(ctx, ctx.node)) return g;
  const b = ctx.b;
  return b.op("Where", [b.op("Greater", [y(ctx), zero(ctx)]), g, zero(ctx)]);
});

export const leakyReluRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const alpha = attrFloat(ctx.node, "alpha", 0.01);
  return b.op("Where", [b.op("Greater", [x(ctx), zero(ctx)]), g, b.op("Mul", [g, f(ctx, alpha)])]);
});

export const preluRule: OpRule = {
  infer: (ctx) => [{
    shape: broadcast(knownShape(ctx.info(0)), knownShape(ctx.info(1))),
    elemType: ctx.info(0).elemType,
  }],
  backward(ctx, [g]) {
    if (ctx.active(1)) throw new RuleError("PRelu slope depends on the pixels");
    const b = ctx.b;
    return [b.op("Where", [b.op("Greater", [x(ctx), zero(ctx)]), g!, b.op("Mul", [g!, ctx.input(1)])]), undefined];
  },
};

export const clipRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  let lo: string | undefined, hi: string | undefined;
  let loValue: number | undefined, hiValue: number | undefined;
  if (ctx.opset >= 11) {
    if (ctx.active(1) || ctx.active(2)) throw new RuleError("Clip bounds depend on the pixels");
    lo = ctx.has(1) ? ctx.input(1) : undefined;
    hi = ctx.has(2) ? ctx.input(2) : undefined;
    loValue = lo ? scalarValue(ctx, 1) : undefined;
    hiValue = hi ? scalarValue(ctx, 2) : undefined;
  } else {
    loValue = attrFloat(ctx.node, "min", -3.4028234663852886e38);
    hiValue = attrFloat(ctx.node, "max", 3.4028234663852886e38);
    lo = f(ctx, loValue);
    hi = f(ctx, hiValue);
  }
  if (!lo && !hi) return g;
  // Masks from the output: lo < clip(x) < hi ⇔ lo < x < hi.
  const mode = formulation(ctx.formulations, "clipMask");
  if (mode === "sign" && lo && hi && loValue !== undefined && hiValue !== undefined && hiValue - loValue >= 1) {
    // y ∈ [lo, hi], so both gaps are ≥ 0 and exact-zero only at the bounds (gradual underflow).
    const gaps = b.op("Mul", [b.op("Sub", [y(ctx), lo]), b.op("Sub", [hi, y(ctx)])]);
    return b.op("Mul", [g, b.op("Sign", [gaps])]);
  }
  const masks = [
    ...(lo ? [b.op("Greater", [y(ctx), lo])] : []),
    ...(hi ? [b.op("Less", [y(ctx), hi])] : []),
  ];
  const mask = masks.length === 2 ? b.op("And", masks) : masks[0];
  if (mode === "where") return b.op("Where", [mask, g, zero(ctx)]);
  return b.op("Mul", [g, b.op("Cast", [mask], { to: { i: DataType.FLOAT } })]);
});

/** A constant scalar input's value, when the analysis knows it. */
function scalarValue(ctx: RuleContext, i: number): number | undefined {
  const v = ctx.info(i).value;
  return v?.length === 1 && typeof v[0] === "number" ? v[0] : undefined;
}

export const sigmoidRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  return b.op("Mul", [g, b.op("Mul", [y(ctx), b.op("Sub", [f(ctx, 1), y(ctx)])])]);
});

export const hardSigmoidRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const alpha = attrFloat(ctx.node, "alpha", 0.2), beta = attrFloat(ctx.node, "beta", 0.5);
  const z = b.op("Add", [b.op("Mul", [x(ctx), f(ctx, alpha)]), f(ctx, beta)]);
  const inside = b.op("And", [b.op("Greater", [z, zero(ctx)]), b.op("Less", [z, f(ctx, 1)])]);
  return b.op("Where", [inside, b.op("Mul", [g, f(ctx, alpha)]), zero(ctx)]);
});

export const hardSwishRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const slope = b.op("Add", [b.op("Div", [x(ctx), f(ctx, 3)]), f(ctx, 0.5)]);
  const mid = b.op("Where", [b.op("Greater", [x(ctx), f(ctx, 3)]), g, b.op("Mul", [g, slope])]);
  return b.op("Where", [b.op("Less", [x(ctx), f(ctx, -3)]), zero(ctx), mid]);
});

export const tanhRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  return b.op("Mul", [g, b.op("Sub", [f(ctx, 1), b.op("Mul", [y(ctx), y(ctx)])])]);
});

export const expRule: OpRule = pointwise((ctx, g) => ctx.b.op("Mul", [g, y(ctx)]));
export const logRule: OpRule = pointwise((ctx, g) => ctx.b.op("Div", [g, x(ctx)]));
export const sqrtRule: OpRule = pointwise((ctx, g) => ctx.b.op("Div", [ctx.b.op("Mul", [g, f(ctx, 0.5)]), y(ctx)]));

export const erfRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const gauss = b.op("Exp", [b.op("Neg", [b.op("Mul", [x(ctx), x(ctx)])])]);
  return b.op("Mul", [g, b.op("Mul", [gauss, f(ctx, 2 / Math.sqrt(Math.PI))])]);
});

export const powRule: OpRule = {
  infer: (ctx) => [{
    shape: broadcast(knownShape(ctx.info(0)), knownShape(ctx.info(1))),
    elemType: ctx.info(0).elemType,
  }],
  backward(ctx, [g]) {
    const p = ctx.info(1).value;
    if (ctx.active(1) || !p || p.length !== 1 || typeof p[0] !== "number") {
      throw new RuleError("Pow needs a constant scalar exponent");
    }
    const b = ctx.b, e = p[0];
    const dx = e === 1
      ? g!
      : e === 2
      ? b.op("Mul", [g!, b.op("Mul", [x(ctx), f(ctx, 2)])])
      : b.op("Mul", [g!, b.op("Mul", [b.op("Pow", [x(ctx), f(ctx, e - 1)]), f(ctx, e)])]);
    return [dx, undefined];
  },
};

const sigmoidOf = (ctx: RuleContext) => ctx.b.op("Sigmoid", [x(ctx)]);
const attrOr = (ctx: RuleContext, name: string, v: number) => attrFloat(ctx.node, name, v);
/** Where(x > 0, positive, negative). */
const bySign = (ctx: RuleContext, positive: string, negative: string) =>
  ctx.b.op("Where", [ctx.b.op("Greater", [x(ctx), zero(ctx)]), positive, negative]);

/** Softplus: ∂ = σ(x). */
export const softplusRule: OpRule = pointwise((ctx, g) => ctx.b.op("Mul", [g, sigmoidOf(ctx)]));

/** Mish (opset 18) y = x·tanh(softplus(x)): ∂ = t + x·σ(x)·(1 − t²), t = tanh(softplus(x)). */
export const mishRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const t = b.op("Tanh", [b.op("Softplus", [x(ctx)])]);
  const dt = b.op("Mul", [b.op("Mul", [x(ctx), sigmoidOf(ctx)]), b.op("Sub", [f(ctx, 1), b.op("Mul", [t, t])])]);
  return b.op("Mul", [g, b.op("Add", [t, dt])]);
});

/** Elu: ∂ = 1 for x > 0, α·eˣ otherwise (torch's convention at 0). */
export const eluRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const neg = b.op("Mul", [g, b.op("Mul", [b.op("Exp", [x(ctx)]), f(ctx, attrOr(ctx, "alpha", 1))])]);
  return bySign(ctx, g, neg);
});

/** Selu: ∂ = γ for x > 0, γ·α·eˣ otherwise. */
export const seluRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const alpha = attrOr(ctx, "alpha", 1.67326319217681884765625),
    gamma = attrOr(ctx, "gamma", 1.05070102214813232421875);
  const neg = b.op("Mul", [g, b.op("Mul", [b.op("Exp", [x(ctx)]), f(ctx, alpha * gamma)])]);
  return bySign(ctx, b.op("Mul", [g, f(ctx, gamma)]), neg);
});

/** Celu (opset 12): ∂ = 1 for x > 0, e^(x/α) otherwise. */
export const celuRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b;
  const neg = b.op("Mul", [g, b.op("Exp", [b.op("Div", [x(ctx), f(ctx, attrOr(ctx, "alpha", 1))])])]);
  return bySign(ctx, g, neg);
});

/**
 * Gelu (opset 20). approximate="none": ∂ = Φ(x) + x·φ(x); "tanh": with u = √(2/π)(x + 0.044715x³),
 * t = tanh(u): ∂ = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
 */
export const geluRule: OpRule = pointwise((ctx, g) => {
  const b = ctx.b, v = x(ctx);
  const sq = b.op("Mul", [v, v]);
  if (attrString(ctx.node, "approximate", "none") === "tanh") {
    const k = Math.sqrt(2 / Math.PI), c = 0.044715;
    const u = b.op("Mul", [b.op("Add", [v, b.op("Mul", [b.op("Mul", [sq, v]), f(ctx, c)])]), f(ctx, k)]);
    const t = b.op("Tanh", [u]);
    const left = b.op("Mul", [b.op("Add", [t, f(ctx, 1)]), f(ctx, 0.5)]);
    const du = b.op("Mul", [
      b.op("Add", [b.op("Mul", [sq, f(ctx, 3 * c * k)]), f(ctx, k)]),
      b.op("Mul", [v, f(ctx, 0.5)]),
    ]);
    const right = b.op("Mul", [du, b.op("Sub", [f(ctx, 1), b.op("Mul", [t, t])])]);
    return b.op("Mul", [g, b.op("Add", [left, right])]);
  }
  const cdf = b.op("Mul", [
    b.op("Add", [b.op("Erf", [b.op("Mul", [v, f(ctx, Math.SQRT1_2)])]), f(ctx, 1)]),
    f(ctx, 0.5),
  ]);
  const pdf = b.op("Mul", [b.op("Exp", [b.op("Mul", [sq, f(ctx, -0.5)])]), f(ctx, 1 / Math.sqrt(2 * Math.PI))]);
  return b.op("Mul", [g, b.op("Add", [cdf, b.op("Mul", [v, pdf])])]);
});

/** Floor, Ceil, Round, Sign: piecewise constant, so no gradient flows (as in torch autograd). */
export const zeroGradientRule: OpRule = { infer: same, backward: () => [undefined] };

/** Abs: ∂ = sign(x)·∂y (0 at 0, like torch). Reciprocal: ∂ = −∂y·y². */
export const absRule: OpRule = pointwise((ctx, g) => ctx.b.op("Mul", [g, ctx.b.op("Sign", [x(ctx)])]));
export const reciprocalRule: OpRule = pointwise((ctx, g) =>
  ctx.b.op("Neg", [ctx.b.op("Mul", [g, ctx.b.op("Mul", [y(ctx), y(ctx)])])])
);
