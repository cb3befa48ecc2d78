/**
 * Einsum (opset 12+). The equation is parsed with spaces removed, "..." expanded to letters the
 * equation does not use, and an implicit output (letters seen once, alphabetical) made explicit.
 * For operand k the gradient is another Einsum: ∂T_k = einsum(∂O, T_j≠k → T_k), which covers the
 * batched-matmul, transpose-like and contraction equations vision transformers use. Letters of
 * T_k found in no other term (summed out) are restored by Unsqueeze + Expand. Rejected with a
 * typed error: a letter repeated within one term (diagonals) and letters whose sizes differ
 * between terms (broadcasting).
 */
import { attrString } from "../graph.ts";
import { RuleError } from "../errors.ts";
import { knownShape } from "./shape.ts";
import type { Dim, OpRule, RuleContext } from "./types.ts";

interface Parsed {
  inputs: string[][];
  output: string[];
}

const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

function parse(equation: string, ranks: readonly number[]): Parsed {
  const eq = equation.replace(/\s+/g, "");
  const [lhs, rhs] = eq.includes("->") ? eq.split("->") : [eq, undefined];
  const terms = lhs.split(",");
  if (terms.length !== ranks.length) throw new RuleError(`Einsum "${equation}" has ${terms.length} terms`);
  const used = new Set(eq.replace(/[^A-Za-z]/g, ""));
  const spare = [...LETTERS].filter((l) => !used.has(l));
  const ell = Math.max(0, ...terms.map((t, i) => (t.includes("...") ? ranks[i] - t.replace("...", "").length : 0)));
  const ellLetters = spare.slice(0, ell);
  const expand = (t: string, rank?: number): string[] => {
    if (!t.includes("...")) return [...t];
    const [pre, post] = t.split("...");
    const k = rank === undefined ? ell : rank - pre.length - post.length;
    return [...pre, ...ellLetters.slice(ell - k), ...post];
  };
  const inputs = terms.map((t, i) => expand(t, ranks[i]));
  let output: string[];
  if (rhs !== undefined) output = expand(rhs);
  else {
    const counts = new Map<string, number>();
    for (const l of inputs.flat()) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([l, n]) => n === 1 && !ellLetters.includes(l)).map(([l]) => l).sort();
    output = [...ellLetters, ...once];
  }
  return { inputs, output };
}

function letterSizes(p: Parsed, shapes: readonly Dim[][]): Map<string, Dim> {
  const sizes = new Map<string, Dim>();
  p.inputs.forEach((t, i) =>
    t.forEach((l, j) => {
      const d = shapes[i][j], prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
    })
  );
  return sizes;
}

function parsed(ctx: RuleContext): { p: Parsed; shapes: Dim[][] } {
  const shapes = ctx.node.input.map((_, i) => knownShape(ctx.info(i), "Einsum operand"));
  return { p: parse(attrString(ctx.node, "equation", ""), shapes.map((s) => s.length)), shapes };
}

export const einsumRule: OpRule = {
  infer(ctx) {
    const { p, shapes } = parsed(ctx);
    const sizes = letterSizes(p, shapes);
    return [{ shape: p.output.map((l) => sizes.get(l)!), elemType: ctx.info(0).elemType }];
  },
  backward(ctx, [g]) {
    const b = ctx.b;
    const { p, shapes } = parsed(ctx);
    const sizes = letterSizes(p, shapes);
    p.inputs.forEach((t, i) => {
      if (new Set(t).size !== t.length) throw new RuleError("Einsum with a repeated index in one term");
      t.forEach((l, j) => {
        if (shapes[i][j] !== sizes.get(l)) throw new RuleError("Einsum with broadcast operands");
      });
    });
    return p.inputs.map((t, k) => {
      if (!ctx.active(k)) return undefined;
      const others = [p.output, ...p.inputs.filter((_, j) => j !== k)];
      const seen = new Set(others.flat());
      const kept = t.filter((l) => seen.has(l));
      const names = [g!, ...ctx.node.input.filter((_, j) => j !== k)];
      const eq = `${others.map((o) => o.join("")).join(",")}->${kept.join("")}`;
      let grad = b.op("Einsum", names, { equation: { s: eq } });
      const missing = t.flatMap((l, j) => (seen.has(l) ? [] : [j]));
      if (missing.length > 0) grad = b.op("Expand", [b.unsqueeze(grad, missing), ctx.shapeOf(ctx.input(k))]);
      return grad;
    });
  },
};
