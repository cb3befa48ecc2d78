/**
 * Dead-code removal on the derived graph: nodes none of whose outputs reach the graph outputs,
 * and initializers nothing reads (e.g. the inputs of folded shape arithmetic), are dropped, so
 * the runtime neither computes them nor warns about them.
 */
import type { GraphProto } from "./proto.ts";

export function pruneGraph(graph: GraphProto): void {
  const needed = new Set(graph.output.map((v) => v.name ?? ""));
  const kept = [];
  for (let i = graph.node.length - 1; i >= 0; i--) {
    const node = graph.node[i];
    if (!node.output.some((o) => o !== "" && needed.has(o))) continue;
    kept.push(node);
    for (const x of node.input) if (x !== "") needed.add(x);
  }
  graph.node = kept.reverse();
  graph.initializer = graph.initializer.filter((t) => needed.has(t.name ?? ""));
  graph.value_info = graph.value_info.filter((v) => needed.has(v.name ?? ""));
}
