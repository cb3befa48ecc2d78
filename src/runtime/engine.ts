import type { BackendName, SessionInfo, TensorPayload } from "./protocol.ts";

/** A loaded ONNX graph that can be run with named feeds. */
export interface SessionHandle {
  readonly info: SessionInfo;
  run(feeds: Record<string, TensorPayload>, fetches: string[]): Promise<Record<string, TensorPayload>>;
  release(): Promise<void>;
}

/** Where sessions live; the backend is decided once, when the engine starts. */
export interface InferenceEngine {
  readonly backend: BackendName;
  readonly threads: number;
  readonly workers: number;
  createSession(bytes: Uint8Array): Promise<SessionHandle>;
  close(): void;
}
