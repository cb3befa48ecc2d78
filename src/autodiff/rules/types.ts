/** Shared types for per-op rules: static shape inference + reverse-mode gradient emission. */
import type { GraphBuilder } from "../graph.ts";
import type { NodeProto } from "../proto.ts";
import type { Formulations } from "./formulations.ts";

/** A dimension: a number, or a symbol (e.g. the dynamic batch "N"). */
export type Dim = number | string;

/** Static facts about a tensor. `value` is set for small constants (shape arithmetic). */
export interface TensorInfo {
  /** undefined when even the rank is unknown. */
  shape: Dim[] | undefined;
  elemType: number;
  /** Row-major values; symbolic entries appear when a value derives from a symbolic dim. */
  value?: Dim[];
  /** A float32 initializer of any size, decoded on demand (rules that rewrite weights use it). */
  floats?: () => Float32Array;
}

export type MaxPoolMode = "indices" | "mask";

/** What a rule sees of one node. Input indices follow the node's input list. */
export interface RuleContext {
  readonly node: NodeProto;
  readonly opset: number;
  readonly b: GraphBuilder;
  readonly maxPool: MaxPoolMode;
  /** Overrides of the default backward formulations (rules/formulations.ts). */
  readonly formulations?: Partial<Formulations>;
  /** Present (non-empty) input? */
  has(i: number): boolean;
  input(i: number): string;
  info(i: number): TensorInfo;
  /** Does input i depend on the pixels through differentiable values? */
  active(i: number): boolean;
  /** A tensor holding the runtime shape of the forward tensor `name` (constant when static). */
  shapeOf(name: string): string;
  /** The node producing tensor `name` (undefined for inputs and initializers). */
  producer(name: string): NodeProto | undefined;
  /** Every node reading tensor `name`. */
  consumers(name: string): readonly NodeProto[];
}

/** Per-op behaviour. `backward` returns one gradient per input (undefined = none needed). */
export interface OpRule {
  infer(ctx: RuleContext): TensorInfo[];
  /** Called once before the forward graph is finalised, e.g. to request MaxPool's Indices. */
  prepare?(ctx: RuleContext): void;
  backward?(ctx: RuleContext, gradOutputs: (string | undefined)[]): (string | undefined)[];
}
