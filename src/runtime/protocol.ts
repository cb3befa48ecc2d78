/** Messages between the main thread and a session Worker (see session_worker.ts). */
import type { GradientSpec, MaxPoolMode } from "../autodiff/mod.ts";
import type { LossKind } from "../model/classifier.ts";

export type BackendName = "wasm" | "webgpu" | "native";
export type BackendChoice = BackendName | "auto";
/** onnxruntime's log severities, most verbose first. */
export type OrtLogLevel = "verbose" | "info" | "warning" | "error" | "fatal";

/** A tensor as it crosses the Worker boundary (outputs, and feeds sent with `transferFeeds`, move their buffers). */
export interface TensorPayload {
  type: "float32" | "int64";
  data: Float32Array | BigInt64Array;
  dims: number[];
}

/**
 * The buffers of `payloads` that can move to another thread as they are: plain ArrayBuffers the view covers whole.
 * Transferring skips the structured-clone copy (a 224² batch of 6 is 3.6 MB) and detaches the sender's arrays.
 */
export function ownedBuffers(payloads: Iterable<TensorPayload>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const { data } of payloads) {
    if (ownsBuffer(data)) buffers.add(data.buffer as ArrayBuffer);
  }
  return [...buffers];
}

/** Whether `data` views the whole of a transferable (non-shared) ArrayBuffer. */
export function ownsBuffer(data: Float32Array | BigInt64Array): boolean {
  return data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
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

/** What the Worker needs to derive gradient graphs (see src/autodiff/derive.ts). */
export interface DeriveRequest {
  bytes: Uint8Array;
  spec: GradientSpec;
  losses: readonly LossKind[];
  maxPool: MaxPoolMode;
}

/** One derived graph for every requested loss (its `loss_kind` input indexes `losses`), or why there is none. */
export type DerivedGradients =
  | { ok: true; losses: LossKind[]; bytes: Uint8Array; buildMs: number }
  | { ok: false; reason: string; unsupported: string[] };

/** Per-session choices; `threads` caps onnxruntime-node's intra-op threads (WASM threads are per Worker). */
export interface SessionOptions {
  threads?: number;
  /**
   * onnxruntime-node only: the parallel executor, which runs independent nodes at once on `threads` inter-op threads
   * of one intra-op thread each, instead of splitting every kernel across the threads. Other backends ignore it.
   */
  parallel?: boolean;
}

export type WorkerRequest =
  | { kind: "init"; backend: BackendChoice; threads: number; logLevel: OrtLogLevel }
  | { kind: "create"; sessionId: number; bytes: Uint8Array; options?: SessionOptions }
  | { kind: "run"; sessionId: number; feeds: Record<string, TensorPayload>; fetches: string[] }
  | { kind: "release"; sessionId: number }
  | ({ kind: "derive" } & DeriveRequest);

export type WorkerReply =
  | { ok: true; backend: BackendName; threads: number }
  | { ok: true; info: SessionInfo }
  | { ok: true; outputs: Record<string, TensorPayload> }
  | { ok: true }
  | { ok: true; derived: DerivedGradients }
  | { ok: false; error: string };

export interface Envelope<T> {
  id: number;
  body: T;
}
