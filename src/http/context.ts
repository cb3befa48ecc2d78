import type { Limits } from "../config.ts";
import type { CalibrationStore } from "../calibration/store.ts";
import { RequestError } from "../errors.ts";
import type { DecodePool } from "../intake/decode_pool.ts";
import type { Registry } from "../registry/registry.ts";
import type { OnnxClassifier } from "../runtime/onnx_classifier.ts";
import type { InferenceEngine } from "../runtime/engine.ts";

/** What the routes need from the running service. */
export interface AppDeps {
  registry: Registry;
  engine: InferenceEngine;
  calibrations: CalibrationStore;
  limits: Limits;
  /** Decodes request images off the main thread. */
  decoder: DecodePool;
}

export function requireModel(registry: Registry, id: string): OnnxClassifier {
  const model = registry.get(id);
  if (!model) throw new RequestError(404, "unknown_model", `no model with id "${id}"`);
  return model;
}
