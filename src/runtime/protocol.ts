/** Messages between the main thread and a session Worker (see session_worker.ts). */

export type BackendName = "wasm" | "webgpu" | "native";
export type BackendChoice = BackendName | "auto";

/** A tensor as it crosses the Worker boundary (buffers are transferred, not copied). */
export interface TensorPayload {
  type: "float32" | "int64";
  data: Float32Array | BigInt64Array;
  dims: number[];
}

export interface ValueInfo {
  name: string;
  /** Empty when the model does not declare a shape; strings are symbolic dims. */
  shape: (number | string)[];
  type: string;
}

export interface SessionInfo {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

export type WorkerRequest =
  | { kind: "init"; backend: BackendChoice; threads: number }
  | { kind: "create"; sessionId: number; bytes: Uint8Array }
  | { kind: "run"; sessionId: number; feeds: Record<string, TensorPayload>; fetches: string[] }
  | { kind: "release"; sessionId: number };

export type WorkerReply =
  | { ok: true; backend: BackendName; threads: number }
  | { ok: true; info: SessionInfo }
  | { ok: true; outputs: Record<string, TensorPayload> }
  | { ok: true }
  | { ok: false; error: string };

export interface Envelope<T> {
  id: number;
  body: T;
}
