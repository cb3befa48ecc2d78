import { RequestError } from "../errors.ts";

/** What a request carried: the image bytes and, for multipart/JSON bodies, an `options` value. */
export interface ImageBody {
  bytes: Uint8Array;
  options?: unknown;
}

/** How long a body may take to arrive, and a cancellation (client gone, shutdown) that stops the read. */
export interface BodyReadOptions {
  /** The whole body must arrive within this many ms of the read starting (slow uploads get 408). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Reads an image from (a) a raw body with an `image/*` (or octet-stream) content type,
 * (b) multipart/form-data field `image` (+ optional `options` JSON field), or
 * (c) JSON `{"image": "<base64 or data URL>", "options": {...}}`.
 * The byte limit is enforced while streaming, before anything is parsed.
 */
export async function readImageBody(
  request: Request,
  maxBytes: number,
  options: BodyReadOptions = {},
): Promise<ImageBody> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (!type) {
    throw new RequestError(
      415,
      "unsupported_media_type",
      "missing Content-Type; send image/*, multipart/form-data or application/json",
    );
  }
  const body = await readLimited(request, maxBytes, options);
  if (type.startsWith("image/") || type === "application/octet-stream") return { bytes: body };
  if (type === "multipart/form-data") return await fromMultipart(body, request.headers.get("content-type")!);
  if (type === "application/json") return fromJson(body);
  throw new RequestError(
    415,
    "unsupported_media_type",
    `Content-Type ${type} is not accepted; send image/png, image/jpeg, multipart/form-data or application/json`,
  );
}

/**
 * Streams the body up to `maxBytes`. A body that has not fully arrived within `timeoutMs`, or whose
 * request is cancelled, stops the read (the stream is cancelled, so a stalled upload holds nothing).
 */
export async function readLimited(request: Request, maxBytes: number, options: BodyReadOptions): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  const stop = Promise.withResolvers<never>();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.reject(error);
    reader.cancel().catch(() => {});
  };
  const timer = options.timeoutMs === undefined ? undefined : setTimeout(
    () =>
      fail(new RequestError(408, "request_timeout", `the request body did not arrive within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const onAbort = () => fail(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  stop.promise.catch(() => {});
  try {
    options.signal?.throwIfAborted();
    while (true) {
      const { done, value } = await Promise.race([reader.read(), stop.promise]).catch((error) => {
        if (failure) throw failure.error;
        // The connection broke mid-body (client gone, or the server stopped reading it).
        throw new RequestError(400, "incomplete_body", `the request body was cut off: ${(error as Error).message}`);
      });
      // A cancelled read may report `done` before the race sees why it was cancelled.
      if (failure) throw failure.error;
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

function tooLarge(maxBytes: number): RequestError {
  return new RequestError(413, "payload_too_large", `request body exceeds the limit of ${maxBytes} bytes`);
}

async function fromMultipart(body: Uint8Array, contentType: string): Promise<ImageBody> {
  let form: FormData;
  try {
    form = await new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new RequestError(400, "invalid_multipart", "the multipart body could not be parsed");
  }
  const image = form.get("image");
  if (image === null) throw new RequestError(422, "missing_image", "multipart body has no `image` field");
  const bytes = typeof image === "string" ? new TextEncoder().encode(image) : new Uint8Array(await image.arrayBuffer());
  const options = form.get("options");
  if (options === null) return { bytes };
  const text = typeof options === "string" ? options : await options.text();
  return { bytes, options: parseJson(new TextEncoder().encode(text), "options field") };
}

function fromJson(body: Uint8Array): ImageBody {
  const json = parseJson(body);
  if (typeof json !== "object" || json === null || typeof (json as { image?: unknown }).image !== "string") {
    throw new RequestError(422, "missing_image", "JSON body needs an `image` field holding base64 image bytes");
  }
  const { image, options } = json as { image: string; options?: unknown };
  return { bytes: decodeBase64(image), options };
}

function parseJson(bytes: Uint8Array, what = "request body"): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new RequestError(400, "invalid_json", `${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** Standard base64, optionally as a `data:` URL; whitespace is ignored. */
export function decodeBase64(text: string): Uint8Array {
  const payload = text.startsWith("data:") ? text.slice(text.indexOf(",") + 1) : text;
  try {
    return Uint8Array.fromBase64(payload.replace(/\s+/g, ""));
  } catch {
    throw new RequestError(422, "invalid_base64", "`image` is not valid base64");
  }
}

/**
 * Several images: multipart with repeated `image` fields, or JSON `{"images": [base64, ...]}`; both may
 * carry `options` and `labels` (multipart: JSON-encoded fields; validated by the caller).
 */
export async function readImagesBody(
  request: Request,
  maxBytes: number,
  readOptions: BodyReadOptions = {},
): Promise<{ images: Uint8Array[]; options?: unknown; labels?: unknown }> {
  const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const body = await readLimited(request, maxBytes, readOptions);
  if (type === "multipart/form-data") {
    let form: FormData;
    try {
      form = await new Response(body as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": request.headers.get("content-type")! },
      })
        .formData();
    } catch {
      throw new RequestError(400, "invalid_multipart", "the multipart body could not be parsed");
    }
    const images = await Promise.all(
      form.getAll("image").map(async (v) =>
        typeof v === "string" ? new TextEncoder().encode(v) : new Uint8Array(await v.arrayBuffer())
      ),
    );
    const jsonField = async (name: string) => {
      const value = form.get(name);
      if (value === null) return undefined;
      const text = typeof value === "string" ? value : await value.text();
      return parseJson(new TextEncoder().encode(text), `${name} field`);
    };
    return { images, options: await jsonField("options"), labels: await jsonField("labels") };
  }
  if (type === "application/json") {
    const json = parseJson(body) as { images?: unknown; options?: unknown; labels?: unknown };
    if (!Array.isArray(json?.images) || !json.images.every((i) => typeof i === "string")) {
      throw new RequestError(422, "missing_image", "JSON body needs an `images` array of base64 strings");
    }
    return { images: json.images.map((i: string) => decodeBase64(i)), options: json.options, labels: json.labels };
  }
  throw new RequestError(
    415,
    "unsupported_media_type",
    "send multipart/form-data with `image` fields or JSON {images: [...]}",
  );
}
