/**
 * The checks of an upload that read the whole graph: it decodes as an ONNX ModelProto with a supported opset, and
 * its inspection (ops, inputs, outputs, the nodes without a gradient rule). Pure and synchronous: it runs in its own
 * Worker (analysis_worker.ts), since a graph of many nodes takes seconds to analyze (100 000 Relus, 2.6 MB: 3.6 s
 * here) and would stall every other request on the main thread. The verdict is data, so that it crosses the Worker
 * boundary and the caller decides when each failure is reported.
 */
import { decodeModel, inspectModel, MAX_OPSET, MIN_OPSET, type ModelInspection } from "../autodiff/mod.ts";
import type { GradientSpec } from "../autodiff/derive.ts";
import { defaultOpset } from "../autodiff/proto.ts";
import { messageOf } from "../errors.ts";

export type UploadAnalysis =
  | { ok: true; inspection: ModelInspection }
  /** Not an ONNX model at all: reported before the model goes anywhere near the inference engine. */
  | { ok: false; stage: "decode"; code: "invalid_onnx" | "unsupported_opset"; message: string }
  /** A model that decodes but cannot be analysed: reported after onnxruntime has had its say. */
  | { ok: false; stage: "analysis"; message: string };

export function analyzeUpload(modelBytes: Uint8Array, spec: GradientSpec): UploadAnalysis {
  let model;
  try {
    model = decodeModel(modelBytes);
  } catch (error) {
    const message = `model: not an ONNX model, or truncated (${messageOf(error)})`;
    return { ok: false, stage: "decode", code: "invalid_onnx", message };
  }
  if (!model.graph || model.graph.node.length === 0 || model.graph.output.length === 0) {
    const message = "model: not an ONNX model (no graph with nodes and outputs)";
    return { ok: false, stage: "decode", code: "invalid_onnx", message };
  }
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    const message = `model: opset ${opset} is outside the supported range ${MIN_OPSET}–${MAX_OPSET}`;
    return { ok: false, stage: "decode", code: "unsupported_opset", message };
  }
  try {
    return { ok: true, inspection: inspectModel(modelBytes, spec) };
  } catch (error) {
    return { ok: false, stage: "analysis", message: `model: cannot be analysed (${messageOf(error)})` };
  }
}
