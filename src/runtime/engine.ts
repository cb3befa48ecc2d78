import type {
  BackendName,
  DerivedGradients,
  DeriveRequest,
  SessionInfo,
  SessionOptions,
  TensorPayload,
} from "./protocol.ts";

export interface RunOptions {
  /**
   * Move the feeds' buffers to the Worker instead of copying them (protocol.ts `ownedBuffers`): the caller's feed
   * arrays are detached (length 0) afterwards, so only feeds built for this one run may be sent this way.
   */
  transferFeeds?: boolean;
}

/** A loaded ONNX graph that can be run with named feeds. */
export interface SessionHandle {
  readonly info: SessionInfo;
  run(
    feeds: Record<string, TensorPayload>,
    fetches: string[],
    options?: RunOptions,
  ): Promise<Record<string, TensorPayload>>;
  release(): Promise<void>;
}

/** Where sessions live; the backend is decided once, when the engine starts. */
export interface InferenceEngine {
  readonly backend: BackendName;
  readonly threads: number;
  readonly workers: number;
  /** Workers replaced after a crash or a hang since start (GET /readyz). */
  readonly restarts: number;
  createSession(bytes: Uint8Array, options?: SessionOptions): Promise<SessionHandle>;
  /** Derives gradient graphs in a Worker, so a large model does not stall the main thread. */
  deriveGradients(request: DeriveRequest): Promise<DerivedGradients>;
  /** Terminates Worker `index` as a crash would (tests: in-flight work gets 503, the Worker is replaced). */
  killWorker(index: number): void;
  close(): void;
}
