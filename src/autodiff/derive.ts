/**
 * deriveGradientModel: original ONNX classifier → a second ONNX model (standard ops only, at the
 * model's own opset) with inputs `pixels` float32 [N,C,H,W] in [0,1] and `labels` int64 [N], and
 * outputs `logits` [N,K], `loss` [N], `grad` [N,C,H,W] = ∂loss[row]/∂pixels[row], and `labels_used` int64 [N].
 * A negative label stands for the row's own prediction (ArgMax of the logits, first max): a gradient at the
 * predicted class then needs no forward pass before it, and `labels_used` says which class that was.
 * Derived for several losses at once, the graph has a third input, `loss_kind` int64 scalar, the index of the loss
 * (in the order asked for) that `loss` and `grad` are for: each loss' head is computed on the logits and Where picks
 * one, so the backward through the network, and the session that runs it, is shared (bit-identical to the graph of
 * that one loss; onnxruntime builds a session in time that grows faster than the graph, and each holds the weights).
 *
 * Preprocessing is folded in front: model input = (pixels × (scale=="byte" ? 255 : 1) − mean[c]) /
 * std[c], transposed to NHWC when the manifest says so. Gradients are reverse-mode, per rule in
 * rules/, only along tensors that depend on the pixels (no weight gradients).
 */
import type { InputSpec } from "../model/manifest.ts";
import type { LossKind } from "../model/classifier.ts";
import { analyze, ruleFailure, valueInfoShape } from "./analyze.ts";
import { NotDifferentiableError, type UnsupportedNode } from "./errors.ts";
import { GraphBuilder, makeNode, valueInfo } from "./graph.ts";
import { emitLogProbabilities, emitLoss } from "./loss.ts";
import { pruneGraph } from "./prune.ts";
import { DataType, decodeModel, defaultOpset, encodeModel, type GraphProto, toNumber } from "./proto.ts";
import type { Dim, MaxPoolMode, TensorInfo } from "./rules/types.ts";
import { RULES } from "./rules/index.ts";
import type { Formulations } from "./rules/formulations.ts";

/** Input spec as in the manifest; `channels` may be any count here. */
export type GradientInputSpec = Omit<InputSpec, "channels"> & { channels: number };

export interface GradientSpec {
  input: GradientInputSpec;
  output: { name: string; kind: "logits" | "probabilities" };
}

export interface DeriveOptions {
  /** One loss, or several picked at run time by the `loss_kind` input (see module doc). */
  loss: LossKind | readonly LossKind[];
  /** MaxPool backward: the forward's Indices output + scatter-add, or an equality mask. */
  maxPool?: MaxPoolMode;
  /** Overrides of the default backward formulations (benchmarks compare them). */
  formulations?: Partial<Formulations>;
}

export interface DerivedModel {
  bytes: Uint8Array;
  opset: number;
  buildMs: number;
}

/** Names of the derived model's interface; original tensors with these names are renamed. */
const RESERVED = ["pixels", "labels", "loss_kind", "logits", "loss", "grad", "labels_used"];
/** Opsets whose operator signatures the builder and rules know. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

function renameReserved(graph: GraphProto): Map<string, string> {
  const names = new Set<string>();
  for (const n of graph.node) for (const x of [...n.input, ...n.output]) names.add(x);
  for (const t of graph.initializer) names.add(t.name ?? "");
  for (const v of [...graph.input, ...graph.output]) names.add(v.name ?? "");
  const map = new Map<string, string>();
  for (const r of RESERVED) {
    if (!names.has(r)) continue;
    let k = 0;
    while (names.has(`${r}__orig${k}`)) k++;
    map.set(r, `${r}__orig${k}`);
  }
  if (map.size === 0) return map;
  const f = (x: string) => map.get(x) ?? x;
  for (const n of graph.node) {
    n.input = n.input.map(f);
    n.output = n.output.map(f);
  }
  for (const t of graph.initializer) t.name = f(t.name ?? "");
  for (const v of [...graph.input, ...graph.output, ...graph.value_info]) v.name = f(v.name ?? "");
  return map;
}

/** Build the gradient model. Throws NotDifferentiableError listing nodes without a rule. */
export function deriveGradientModel(
  modelBytes: Uint8Array,
  spec: GradientSpec,
  opts: DeriveOptions,
): DerivedModel {
  const t0 = performance.now();
  const model = decodeModel(modelBytes);
  const graph = model.graph;
  if (!graph) throw new Error("model has no graph");
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new Error(`opset ${opset} is outside the supported range ${MIN_OPSET}–${MAX_OPSET}`);
  }
  const renamed = renameReserved(graph);
  spec = {
    input: { ...spec.input, name: renamed.get(spec.input.name) ?? spec.input.name },
    output: { ...spec.output, name: renamed.get(spec.output.name) ?? spec.output.name },
  };
  const initNames = new Set(graph.initializer.map((t) => t.name ?? ""));
  const feeds = graph.input.filter((v) => !initNames.has(v.name ?? ""));
  const inVi = feeds.find((v) => v.name === spec.input.name);
  if (!inVi) throw new Error(`model has no input named "${spec.input.name}"`);
  const extra = feeds.filter((v) => v !== inVi).map((v) => v.name);
  if (extra.length > 0) throw new Error(`model has inputs other than "${spec.input.name}": ${extra.join(", ")}`);
  const inType = inVi.type?.tensor_type?.elem_type ?? 0;
  if (inType !== DataType.FLOAT) {
    throw new NotDifferentiableError([{
      opType: "input",
      nodeName: spec.input.name,
      reason: `input element type ${inType} is not float32`,
    }]);
  }

  const { channels: c, height: h, width: w, layout } = spec.input;
  const declared = valueInfoShape(inVi);
  const batch: Dim = declared?.[0] ?? "N";
  const pixelShape: Dim[] = [batch, c, h, w];
  const modelShape: Dim[] = layout === "NHWC" ? [batch, h, w, c] : pixelShape;
  if (declared && declared.some((d, i) => typeof d === "number" && d !== modelShape[i])) {
    throw new Error(`input "${spec.input.name}" is [${declared}] but the spec implies [${modelShape}]`);
  }

  const used = new Set<string>(RESERVED);
  for (const n of graph.node) for (const x of [...n.input, ...n.output]) used.add(x);
  for (const t of graph.initializer) used.add(t.name ?? "");
  const b = new GraphBuilder(opset, used);

  // Preprocessing: x = pixels·(s/std) + (−mean/std), per channel, then the layout transpose.
  const s = spec.input.scale === "byte" ? 255 : 1;
  const gain = b.constF32(spec.input.std.map((sd) => s / sd), [1, c, 1, 1]);
  const offset = b.constF32(spec.input.mean.map((m, i) => -m / spec.input.std[i]), [1, c, 1, 1]);
  const scaled = b.op("Add", [b.op("Mul", ["pixels", gain]), offset]);
  b.nodes.push(
    layout === "NHWC"
      ? makeNode("Transpose", [scaled], [spec.input.name], { perm: { ints: [0, 2, 3, 1] } }, "pre/transpose")
      : makeNode("Identity", [scaled], [spec.input.name], {}, "pre/identity"),
  );
  const prelude = b.nodes.splice(0);

  const seeds = new Map<string, TensorInfo>([
    ["pixels", { shape: pixelShape, elemType: DataType.FLOAT }],
    ["labels", { shape: [batch], elemType: DataType.INT64 }],
  ]);
  for (const t of b.initializers) {
    seeds.set(t.name ?? "", { shape: t.dims.map(toNumber), elemType: t.data_type ?? 0 });
  }
  graph.input = graph.input.filter((v) => v !== inVi);
  const a = analyze({
    graph,
    opset,
    builder: b,
    seeds,
    sources: ["pixels"],
    prelude,
    maxPool: opts.maxPool ?? "indices",
    formulations: opts.formulations,
  });
  if (a.unsupported.length > 0) throw new NotDifferentiableError(a.unsupported);

  const outInfo = a.infos.get(spec.output.name);
  const classes = outInfo?.shape?.[outInfo.shape.length - 1];
  if (!outInfo?.shape || outInfo.shape.length !== 2 || typeof classes !== "number") {
    throw new Error(`output "${spec.output.name}" must have static shape [N,K], got [${outInfo?.shape ?? "?"}]`);
  }

  // Forward tail: logits and loss; then reverse sweep over the active nodes.
  const prob = spec.output.kind === "probabilities" ? emitLogProbabilities(b, spec.output.name) : undefined;
  const z = prob ? prob.z : spec.output.name;
  const predicted = b.op("ArgMax", [z], { axis: { i: 1 }, keepdims: { i: 0 } });
  // Any negative label (PREDICTED_LABEL, src/model/classifier.ts) is the row's prediction.
  const labels = b.op("Where", [b.op("Less", ["labels", b.constI64([0], [])]), predicted, "labels"]);
  const several = typeof opts.loss !== "string";
  const kinds: readonly LossKind[] = typeof opts.loss === "string" ? [opts.loss] : opts.loss;
  if (kinds.length === 0) throw new Error("no loss to derive the gradient of");
  const heads = kinds.map((kind) => emitLoss(b, z, labels, classes, kind));
  let { loss, gradLogits } = heads[heads.length - 1];
  for (let i = heads.length - 2; i >= 0; i--) {
    const picked = b.op("Equal", ["loss_kind", b.constI64([i], [])]);
    loss = b.op("Where", [picked, heads[i].loss, loss]);
    gradLogits = b.op("Where", [picked, heads[i].gradLogits, gradLogits]);
  }
  const grads = new Map<string, string[]>();
  const push = (name: string, g: string) => grads.set(name, [...(grads.get(name) ?? []), g]);
  push(spec.output.name, prob ? prob.backward(gradLogits) : gradLogits);
  const total = (name: string): string | undefined => {
    const gs = grads.get(name);
    if (!gs) return undefined;
    return gs.reduce((acc, g) => b.op("Add", [acc, g]));
  };
  // A rule that rejects its node while emitting the backward (e.g. an Einsum equation it does
  // not handle) is recorded like the analysis' rejections; the sweep goes on so that every
  // offending node is listed in one NotDifferentiableError.
  const failed: UnsupportedNode[] = [];
  for (const node of [...a.activeNodes].reverse()) {
    const gOut = node.output.map((o) => (a.active.has(o) ? total(o) : undefined));
    if (gOut.every((g) => g === undefined)) continue;
    const ctx = a.contexts.get(node)!;
    let gIn: (string | undefined)[];
    try {
      gIn = RULES[node.op_type ?? ""].backward!(ctx, gOut);
    } catch (e) {
      failed.push({ opType: node.op_type ?? "", nodeName: node.name || node.output[0] || "", reason: ruleFailure(e) });
      continue;
    }
    node.input.forEach((name, i) => {
      const g = gIn[i];
      if (g !== undefined && ctx.active(i)) push(name, g);
    });
  }
  if (failed.length > 0) throw new NotDifferentiableError(failed.reverse());
  const gradPixels = total("pixels") ?? b.op("Mul", ["pixels", b.constF32([0], [])]);

  const tail = [
    makeNode("Identity", [z], ["logits"], {}, "out/logits"),
    makeNode("Identity", [loss], ["loss"], {}, "out/loss"),
    makeNode("Identity", [gradPixels], ["grad"], {}, "out/grad"),
    makeNode("Identity", [labels], ["labels_used"], {}, "out/labels_used"),
  ];
  graph.node = [...a.nodes, ...b.nodes, ...tail];
  graph.initializer = [...graph.initializer, ...a.folded, ...b.initializers];
  const foldedNames = new Set(a.folded.map((t) => t.name));
  graph.value_info = graph.value_info.filter((v) => !foldedNames.has(v.name));
  graph.input = [
    valueInfo("pixels", DataType.FLOAT, pixelShape),
    valueInfo("labels", DataType.INT64, [batch]),
    ...(several ? [valueInfo("loss_kind", DataType.INT64, [])] : []),
  ];
  graph.output = [
    valueInfo("logits", DataType.FLOAT, [outInfo.shape[0], classes]),
    valueInfo("loss", DataType.FLOAT, [outInfo.shape[0]]),
    valueInfo("grad", DataType.FLOAT, pixelShape),
    valueInfo("labels_used", DataType.INT64, [outInfo.shape[0]]),
  ];
  pruneGraph(graph);
  model.ir_version = Math.max(toNumber(model.ir_version), 4);
  const bytes = encodeModel(model);
  return { bytes, opset, buildMs: performance.now() - t0 };
}
