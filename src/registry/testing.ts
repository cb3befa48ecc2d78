/** Test support for uploads: small models that stress one part of validation. */
import { makeNode, valueInfo } from "../autodiff/graph.ts";
import { DataType, encodeModel, type ModelProto } from "../autodiff/proto.ts";
import { makeTensor } from "../autodiff/tensor.ts";
import type { Manifest } from "../model/manifest.ts";

/**
 * x [N,1,2,2] → Flatten → `relus` Relus → MatMul → y [N,2]: a file of a few hundred KB whose gradient session
 * onnxruntime builds in time ~ n² (onnxruntime-node: 28 s at 5 000 Relus, BENCHMARKS.md "Upload validation").
 */
export function reluChain(relus: number): Uint8Array {
  const node = [makeNode("Flatten", ["x"], ["h0"])];
  for (let i = 0; i < relus; i++) node.push(makeNode("Relu", [`h${i}`], [`h${i + 1}`]));
  node.push(makeNode("MatMul", [`h${relus}`, "W"], ["y"]));
  const graph = {
    name: "relu-chain",
    node,
    initializer: [makeTensor("W", DataType.FLOAT, [4, 2], [1, 0, 0, 1, 1, 0, 0, 1])],
    input: [valueInfo("x", DataType.FLOAT, ["N", 1, 2, 2])],
    output: [valueInfo("y", DataType.FLOAT, ["N", 2])],
  };
  return encodeModel({ ir_version: 8, opset_import: [{ domain: "", version: 13 }], graph } as unknown as ModelProto);
}

/** The manifest of `reluChain`. */
export const RELU_CHAIN_MANIFEST: Manifest = {
  id: "relu-chain",
  labels: ["a", "b"],
  input: { name: "x", layout: "NCHW", channels: 1, height: 2, width: 2, scale: "unit", mean: [0], std: [1] },
  output: { name: "y", kind: "logits" },
};

/**
 * Whether the process `pid` is running (an exited one that is not yet reaped is not). Tests follow their own prober's
 * process by pid: test modules run in parallel in one process, so its children include other servers' probers.
 */
export function processRuns(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}
