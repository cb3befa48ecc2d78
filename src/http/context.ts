import type { Limits } from "../config.ts";
import type { CalibrationStore } from "../calibration/store.ts";
import { RequestError } from "../errors.ts";
import type { DecodePool } from "../intake/decode_pool.ts";
import type { Registry } from "../registry/registry.ts";
import type { OnnxClassifier } from "../runtime/onnx_classifier.ts";
import type { InferenceEngine } from "../runtime/engine.ts";
import type { EngineSelection } from "../runtime/select_engine.ts";
import type { AuditService } from "../jobs/audits.ts";

/** What the routes need from the running service. */
export interface AppDeps {
  registry: Registry;
  engine: InferenceEngine;
  /** How start-up chose the backend and thread count (src/runtime/select_engine.ts), for /readyz. */
  engineSelection?: EngineSelection;
  calibrations: CalibrationStore;
  limits: Limits;
  /** Decodes request images off the main thread. */
  decoder: DecodePool;
  /** Largest model file POST /v1/models accepts. */
  maxModelBytes: number;
  /** Dataset audits (absent: the audit routes answer 503 `audits_unavailable`). */
  audits?: AuditService;
}

/** The model `id` (at `version`, a query string value, when given) or a 404. */
export async function requireModel(registry: Registry, id: string, version?: string): Promise<OnnxClassifier> {
  const model = await registry.acquire(id, parseVersion(version));
  if (!model) throw unknownModel(id, version);
  return model;
}

export function unknownModel(id: string, version?: string | number): RequestError {
  return new RequestError(404, "unknown_model", `no model with id "${id}"${version ? ` and version ${version}` : ""}`);
}

/** `?version=` as a positive integer; undefined when absent. */
export function parseVersion(version: string | undefined): number | undefined {
  if (version === undefined) return undefined;
  if (!/^[1-9][0-9]{0,8}$/.test(version)) {
    throw new RequestError(422, "invalid_query", `version: expected a positive integer, got "${version}"`);
  }
  return Number(version);
}
