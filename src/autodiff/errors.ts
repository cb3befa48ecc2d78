/** One op instance the gradient derivation cannot handle. */
export interface UnsupportedNode {
  opType: string;
  nodeName: string;
  reason: string;
}

/**
 * Thrown by `deriveGradientModel` when part of the pixel → logits path has no gradient rule
 * (unknown op, control flow, non-float input, unsupported attribute variant). `opTypes` is the
 * sorted set of op types; `nodes` lists every offending node.
 */
export class NotDifferentiableError extends Error {
  readonly opTypes: string[];
  constructor(readonly nodes: UnsupportedNode[]) {
    const opTypes = [...new Set(nodes.map((n) => n.opType))].sort();
    super(
      `not differentiable: ${opTypes.join(", ")} (${
        nodes.map((n) => `${n.opType} "${n.nodeName}": ${n.reason}`).join("; ")
      })`,
    );
    this.name = "NotDifferentiableError";
    this.opTypes = opTypes;
  }
}

/** Internal: a rule rejects one node; collected into a NotDifferentiableError. */
export class RuleError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "RuleError";
  }
}
