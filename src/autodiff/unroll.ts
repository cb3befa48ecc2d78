/**
 * k L∞ PGD steps in one ONNX graph: the derived gradient model (deriveGradientModel) repeated k
 * times, each copy followed by the step x_{t+1} = min(upper, max(lower, x_t + α·sign(∂loss/∂x_t))),
 * so one session.run replaces k runs and k Worker round trips. Inputs: `pixels` (iterate 0,
 * [N,C,H,W]), `labels` [N], `alpha` [N,1,1,1] (the signed per-row step: −α for targeted descent),
 * `lower` / `upper` [N,C,H,W] (the ε-ball around the clean image intersected with [0,1]). Outputs:
 * `x_1` … `x_k` (the iterates) and `logits_0` … `logits_{k−1}` (the logits at iterates 0 … k−1),
 * so a caller can still find the first adversarial iterate of each row. In float32, x + α·sign is
 * one rounding of the exact sum, as `Math.fround` of the JavaScript step, so the iterates equal a
 * loop of single gradient runs.
 *
 * Measured against that loop (`deno task bench`, section 5); not yet used by src/attacks.
 */
import { makeNode } from "./graph.ts";
import { DataType, decodeModel, encodeModel, type NodeProto, type ValueInfoProto } from "./proto.ts";

function like(v: ValueInfoProto, name: string): ValueInfoProto {
  return { ...structuredClone(v), name } as ValueInfoProto;
}

/** The unrolled model for `steps` ≥ 1 steps of the gradient model `gradientBytes`. */
export function unrollLinfSteps(gradientBytes: Uint8Array, steps: number): Uint8Array {
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const model = decodeModel(gradientBytes);
  const graph = model.graph;
  if (!graph) throw new Error("model has no graph");
  const [pixels, labels] = graph.input;
  const logits = graph.output.find((o) => o.name === "logits");
  if (pixels?.name !== "pixels" || labels?.name !== "labels" || !logits) {
    throw new Error("not a derived gradient model (inputs pixels, labels; outputs logits, loss, grad)");
  }
  const shared = new Set([...graph.initializer.map((t) => t.name ?? ""), "labels", ""]);
  const body = graph.node;
  const nodes: NodeProto[] = [];
  let x = "pixels";
  for (let t = 0; t < steps; t++) {
    const at = (name: string) => (shared.has(name) ? name : name === "pixels" ? x : `step${t}/${name}`);
    for (const n of body) {
      // Node names must be unique; exporters may leave them empty (an output name is unique).
      const name = `step${t}/${n.name || n.output[0]}`;
      nodes.push({ ...n, name, input: n.input.map(at), output: n.output.map(at) });
    }
    const moved = `step${t}/moved`;
    nodes.push(makeNode("Sign", [at("grad")], [`step${t}/sign`]));
    nodes.push(makeNode("Mul", [`step${t}/sign`, "alpha"], [`step${t}/delta`]));
    nodes.push(makeNode("Add", [x, `step${t}/delta`], [moved]));
    nodes.push(makeNode("Max", [moved, "lower"], [`step${t}/above`]));
    nodes.push(makeNode("Min", [`step${t}/above`, "upper"], [`x_${t + 1}`]));
    nodes.push(makeNode("Identity", [at("logits")], [`logits_${t}`]));
    x = `x_${t + 1}`;
  }
  graph.node = nodes;
  const dims = pixels.type!.tensor_type!.shape!.dim;
  const rowDims = { ...structuredClone(pixels), name: "alpha" } as ValueInfoProto;
  rowDims.type!.tensor_type!.shape!.dim = [structuredClone(dims[0]), { dim_value: 1 }, { dim_value: 1 }, {
    dim_value: 1,
  }] as typeof dims;
  rowDims.type!.tensor_type!.elem_type = DataType.FLOAT;
  graph.input = [pixels, labels, rowDims, like(pixels, "lower"), like(pixels, "upper")];
  graph.output = [
    ...Array.from({ length: steps }, (_, t) => like(pixels, `x_${t + 1}`)),
    ...Array.from({ length: steps }, (_, t) => like(logits, `logits_${t}`)),
  ];
  graph.value_info = graph.value_info.flatMap((v) =>
    shared.has(v.name ?? "") ? [v] : Array.from({ length: steps }, (_, t) => like(v, `step${t}/${v.name}`))
  );
  return encodeModel(model);
}
