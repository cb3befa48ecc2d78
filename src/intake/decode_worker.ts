/// <reference lib="deno.worker" />
import { RequestError } from "../errors.ts";
import { decodeImage } from "./decode.ts";
import type { DecodeReply, DecodeRequest } from "./decode_protocol.ts";
import { toModelPixels } from "./to_pixels.ts";

// One image at a time: bytes in, model-sized pixels out, so the full-size decode never reaches the main thread.
self.onmessage = async (event: MessageEvent<DecodeRequest>) => {
  const { id, bytes, maxPixels, spec } = event.data;
  const start = performance.now();
  let reply: DecodeReply;
  try {
    const image = await decodeImage(bytes, maxPixels);
    const { pixels, resized } = toModelPixels(image, spec);
    const { format, width, height, bitDepth } = image;
    const decodeMs = performance.now() - start;
    reply = { id, ok: true, pixels, source: { format, width, height, bitDepth, resized }, decodeMs };
    self.postMessage(reply, { transfer: [pixels.buffer as ArrayBuffer] });
  } catch (error) {
    const known = error instanceof RequestError && [413, 415, 422].includes(error.status);
    reply = known
      ? { id, ok: false, status: error.status as 413 | 415 | 422, code: error.code, message: error.message }
      : { id, ok: false, status: 422, code: "undecodable_image", message: `the image could not be decoded: ${error}` };
    self.postMessage(reply);
  }
};
