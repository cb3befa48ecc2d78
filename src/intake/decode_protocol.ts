import type { InputSpec } from "../model/manifest.ts";
import type { ImageFormat } from "./decode.ts";

/** How the decoded file looked before it became model input. */
export interface ImageSource {
  format: ImageFormat;
  width: number;
  height: number;
  bitDepth: number;
  resized: boolean;
}

/** Main thread → decode Worker: one image to turn into model pixels. */
export interface DecodeRequest {
  id: number;
  bytes: Uint8Array;
  maxPixels: number;
  spec: Pick<InputSpec, "channels" | "height" | "width">;
}

/** Decode Worker → main thread. A failure carries the RequestError's status and code. */
export type DecodeReply =
  | { id: number; ok: true; pixels: Float32Array; source: ImageSource; decodeMs: number }
  | { id: number; ok: false; status: 413 | 415 | 422; code: string; message: string };
