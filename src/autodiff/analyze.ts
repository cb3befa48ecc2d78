/**
 * Forward analysis shared by derivation and inspection: static shapes/constant values per tensor
 * (symbolic batch), which tensors depend on the pixels, static evaluation of pixel-independent
 * nodes (fold/) with their outputs folded into initializers, and the list of nodes on the pixel
 * path that lack a gradient rule.
 */
import type { UnsupportedNode } from "./errors.ts";
import { RuleError } from "./errors.ts";
import type { GraphBuilder } from "./graph.ts";
import { DataType, type GraphProto, type NodeProto, type TensorProto, toNumber, type ValueInfoProto } from "./proto.ts";
import { RULES } from "./rules/index.ts";
import type { Dim, MaxPoolMode, OpRule, RuleContext, TensorInfo } from "./rules/types.ts";
import { MAX_CONSTANT_ELEMENTS } from "./rules/shape.ts";
import type { Formulations } from "./rules/formulations.ts";
import { isReadable, makeTensor, readFloat32, readTensor } from "./tensor.ts";
import { type Const, evaluateNode } from "./fold/index.ts";

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.FLOAT16, DataType.DOUBLE]);
const CONTROL_FLOW = new Set(["If", "Loop", "Scan"]);
/** Float initializers up to this many elements are read as values (larger ones are weights). */
const SMALL_FLOAT_INITIALIZER = 16384;

export interface Analysis {
  infos: Map<string, TensorInfo>;
  active: Set<string>;
  /** Forward nodes that remain (folded ones removed), in order. */
  nodes: NodeProto[];
  /** Active nodes, in forward order. */
  activeNodes: NodeProto[];
  folded: TensorProto[];
  unsupported: UnsupportedNode[];
  contexts: Map<NodeProto, RuleContext>;
}

/** Shape from a ValueInfo; unnamed unknown dims become "?k" symbols. */
export function valueInfoShape(vi: ValueInfoProto): Dim[] | undefined {
  const shape = vi.type?.tensor_type?.shape;
  if (!shape) return undefined;
  return shape.dim.map((d, i) => {
    if (d.dim_param) return d.dim_param;
    const v = toNumber(d.dim_value);
    return v > 0 ? v : `?${vi.name}:${i}`;
  });
}

function initializerInfo(t: TensorProto): TensorInfo {
  const dims = t.dims.map(toNumber);
  const size = dims.reduce((a, b) => a * b, 1);
  const info: TensorInfo = { shape: dims, elemType: t.data_type ?? 0 };
  const limit = info.elemType === DataType.FLOAT ? SMALL_FLOAT_INITIALIZER : MAX_CONSTANT_ELEMENTS;
  if (size <= limit && isReadable(t)) info.value = readTensor(t).data;
  if (info.elemType === DataType.FLOAT && isReadable(t)) info.floats = () => readFloat32(t);
  return info;
}

export interface AnalyzeOptions {
  graph: GraphProto;
  opset: number;
  builder: GraphBuilder;
  /** Tensors known before the nodes run (graph inputs, preprocessing outputs). */
  seeds: Map<string, TensorInfo>;
  /** Differentiation sources. */
  sources: Iterable<string>;
  /** Nodes to run before the graph's own (preprocessing). */
  prelude: NodeProto[];
  maxPool: MaxPoolMode;
  formulations?: Partial<Formulations>;
}

function isNumeric(v: Dim[]): v is number[] {
  return v.every((d) => typeof d === "number");
}

/** Why a rule rejected its node; an unexpected exception inside a rule is reported the same way. */
export function ruleFailure(e: unknown): string {
  if (e instanceof RuleError) return e.reason;
  return `gradient rule failed: ${e instanceof Error ? e.message : String(e)}`;
}

/** The constant held by `info`, when its shape and every value are known numbers. */
function constantOf(info: TensorInfo | undefined): Const | undefined {
  if (!info?.shape || !info.value || !isNumeric(info.shape) || !isNumeric(info.value)) return undefined;
  if (info.value.length !== info.shape.reduce((a, b) => a * b, 1)) return undefined;
  return { dims: info.shape, elemType: info.elemType, data: info.value };
}

/** Static evaluation of a node whose present inputs are all constants (see fold/). */
function evaluated(node: NodeProto, opset: number, infos: Map<string, TensorInfo>): TensorInfo[] | undefined {
  const inputs = node.input.map((n) => (n === "" ? undefined : constantOf(infos.get(n))));
  if (node.input.some((n, i) => n !== "" && !inputs[i])) return undefined;
  const out = evaluateNode(node, opset, inputs);
  if (!out || out.length !== node.output.length || out.some((o) => o.data.length > MAX_CONSTANT_ELEMENTS)) {
    return undefined;
  }
  return out.map((o) => {
    const info: TensorInfo = { shape: o.dims, elemType: o.elemType, value: o.data };
    if (o.elemType === DataType.FLOAT) info.floats = () => Float32Array.from(o.data);
    return info;
  });
}

export function analyze(opts: AnalyzeOptions): Analysis {
  const { graph, opset, builder: b } = opts;
  const infos = new Map<string, TensorInfo>(opts.seeds);
  for (const t of graph.initializer) infos.set(t.name ?? "", initializerInfo(t));
  for (const vi of graph.input) {
    if (!infos.has(vi.name ?? "")) {
      infos.set(vi.name ?? "", { shape: valueInfoShape(vi), elemType: vi.type?.tensor_type?.elem_type ?? 0 });
    }
  }
  const active = new Set<string>(opts.sources);
  const tainted = new Set<string>();
  const shapeCache = new Map<string, string>();
  const result: Analysis = {
    infos,
    active,
    nodes: [],
    activeNodes: [],
    folded: [],
    unsupported: [],
    contexts: new Map(),
  };
  const unknown: TensorInfo = { shape: undefined, elemType: 0 };
  // Declared value_info/outputs fill in tensors whose producer has no rule.
  const declared = new Map<string, TensorInfo>();
  for (const vi of [...graph.value_info, ...graph.output]) {
    declared.set(vi.name ?? "", { shape: valueInfoShape(vi), elemType: vi.type?.tensor_type?.elem_type ?? 0 });
  }

  const producers = new Map<string, NodeProto>();
  const consumers = new Map<string, NodeProto[]>();
  for (const node of [...opts.prelude, ...graph.node]) {
    for (const name of node.output) if (name !== "") producers.set(name, node);
    for (const name of node.input) if (name !== "") consumers.set(name, [...(consumers.get(name) ?? []), node]);
  }

  for (const node of [...opts.prelude, ...graph.node]) {
    const op = node.op_type ?? "";
    const isActive = node.input.some((n) => n !== "" && active.has(n));
    const ctx: RuleContext = {
      node,
      opset,
      b,
      maxPool: opts.maxPool,
      formulations: opts.formulations,
      has: (i) => i < node.input.length && node.input[i] !== "",
      input: (i) => node.input[i],
      info: (i) => infos.get(node.input[i]) ?? unknown,
      active: (i) => i < node.input.length && active.has(node.input[i]),
      shapeOf: (name) => {
        const cached = shapeCache.get(name);
        if (cached) return cached;
        const s = infos.get(name)?.shape;
        const t = s && isNumeric(s) ? b.constI64(s) : b.op("Shape", [name]);
        shapeCache.set(name, t);
        return t;
      },
      producer: (name) => producers.get(name),
      consumers: (name) => consumers.get(name) ?? [],
    };
    // A node downstream of a rejected one is only reported for its own reasons: failures that
    // stem from the unknown shapes of tainted inputs are not.
    const downstream = node.input.some((n) => tainted.has(n));
    let rejected = false;
    const reject = (reason: string) => {
      rejected = true;
      result.unsupported.push({ opType: op, nodeName: node.name || node.output[0] || "", reason });
    };
    const domain = node.domain ?? "";
    const rule: OpRule | undefined = domain === "" || domain === "ai.onnx" ? RULES[op] : undefined;
    let outInfos: TensorInfo[] | undefined;
    const staticValue = isActive || domain !== "" && domain !== "ai.onnx" ? undefined : evaluated(node, opset, infos);
    if (CONTROL_FLOW.has(op)) reject("control flow is not differentiated");
    else if (staticValue) outInfos = staticValue;
    else if (!rule) {
      if (isActive) reject(domain ? `custom domain ${domain}` : "no gradient rule");
    } else {
      try {
        outInfos = rule.infer(ctx);
        // Ops without a backward (Shape, ...) are fine on the pixel path if nothing float comes out.
        if (isActive && !rule.backward && outInfos.some((o) => FLOAT_TYPES.has(o.elemType))) {
          reject("no gradient rule");
        }
      } catch (e) {
        if (isActive && !downstream) reject(ruleFailure(e));
        else if (isActive) rejected = true;
      }
    }
    if (rejected || downstream || (isActive && !outInfos)) {
      // Keep following the pixel path so every unsupported op on it gets reported.
      for (const name of node.output) {
        tainted.add(name);
        active.add(name);
      }
    }
    node.output.forEach((name, i) => infos.set(name, outInfos?.[i] ?? declared.get(name) ?? unknown));

    // Fold nodes whose outputs are known constants (shape arithmetic, masks, constant chains);
    // on the pixel path that is only a node without gradient such as Shape of a static tensor.
    if (
      (!isActive || (!rejected && !rule?.backward)) && outInfos && outInfos.length === node.output.length &&
      outInfos.every((o) =>
        o.value && isNumeric(o.value) && o.shape && isNumeric(o.shape) && o.value.length <= MAX_CONSTANT_ELEMENTS
      )
    ) {
      node.output.forEach((name, i) => {
        const o = outInfos![i];
        if (name !== "") result.folded.push(makeTensor(name, o.elemType, o.shape as number[], o.value as number[]));
      });
      continue;
    }
    result.nodes.push(node);
    if (isActive && rule?.backward) {
      node.output.forEach((name, i) => {
        if (name !== "" && FLOAT_TYPES.has(outInfos?.[i]?.elemType ?? 0)) active.add(name);
      });
      if (node.output.some((n) => active.has(n))) {
        result.activeNodes.push(node);
        result.contexts.set(node, ctx);
        try {
          rule.prepare?.(ctx);
        } catch (e) {
          if (!downstream) reject(ruleFailure(e));
        }
      }
    }
  }
  return result;
}
