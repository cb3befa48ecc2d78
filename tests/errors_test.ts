import assert from "node:assert/strict";
import { PNG } from "pngjs";
import {
  errorOf,
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  MODELS_DIR,
  startTestServer,
} from "./support/server.ts";

function blankPng(width: number, height: number): Uint8Array {
  const png = new PNG({ width, height });
  png.data.fill(255);
  return new Uint8Array(PNG.sync.write(png));
}

Deno.test("errors: every bad request gets its status and JSON error, and the model keeps working", async (t) => {
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
    ROBUSTCHECK_MAX_BODY_BYTES: "200000",
    ROBUSTCHECK_MAX_PIXELS: "1000000",
  });
  const predictUrl = `${server.url}/v1/models/fashion-cnn/predict`;
  const [good] = await loadFixtureImages("fashion", 1);
  const before = await (await fetch(predictUrl, imageRequest(good.bytes))).json();
  try {
    const cases: { name: string; request: () => Promise<Response>; status: number; code: string }[] = [
      {
        name: "unknown model",
        request: () => fetch(`${server.url}/v1/models/nope/predict`, imageRequest(good.bytes)),
        status: 404,
        code: "unknown_model",
      },
      {
        name: "unknown model info",
        request: () => fetch(`${server.url}/v1/models/nope`),
        status: 404,
        code: "unknown_model",
      },
      { name: "unknown path", request: () => fetch(`${server.url}/v2/whatever`), status: 404, code: "not_found" },
      { name: "wrong method on predict", request: () => fetch(predictUrl), status: 405, code: "method_not_allowed" },
      {
        name: "wrong method on models",
        request: () => fetch(`${server.url}/v1/models`, { method: "DELETE" }),
        status: 405,
        code: "method_not_allowed",
      },
      {
        name: "body over the byte limit",
        request: () => fetch(predictUrl, imageRequest(new Uint8Array(300_000))),
        status: 413,
        code: "payload_too_large",
      },
      {
        name: "image over the pixel limit",
        request: () => fetch(predictUrl, imageRequest(blankPng(1001, 1000))),
        status: 413,
        code: "image_too_large",
      },
      {
        name: "unsupported content type",
        request: () => fetch(predictUrl, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" }),
        status: 415,
        code: "unsupported_media_type",
      },
      {
        name: "missing content type",
        request: () => fetch(predictUrl, { method: "POST", body: good.bytes as Uint8Array<ArrayBuffer> }),
        status: 415,
        code: "unsupported_media_type",
      },
      {
        name: "bytes that are no image",
        request: () => fetch(predictUrl, imageRequest(new TextEncoder().encode("GIF89a not supported"))),
        status: 415,
        code: "unsupported_image_format",
      },
      {
        name: "truncated PNG",
        request: () => fetch(predictUrl, imageRequest(good.bytes.slice(0, 60))),
        status: 422,
        code: "undecodable_image",
      },
      {
        name: "PNG with corrupt data",
        request: () => fetch(predictUrl, imageRequest(corrupt(good.bytes))),
        status: 422,
        code: "undecodable_image",
      },
      {
        name: "truncated JPEG",
        request: () => fetch(predictUrl, imageRequest(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]), "image/jpeg")),
        status: 422,
        code: "undecodable_image",
      },
      {
        name: "invalid JSON",
        request: () =>
          fetch(predictUrl, { method: "POST", headers: { "content-type": "application/json" }, body: "{" }),
        status: 400,
        code: "invalid_json",
      },
      {
        name: "JSON without image",
        request: () => fetch(predictUrl, jsonRequest({ picture: "x" })),
        status: 422,
        code: "missing_image",
      },
      {
        name: "JSON with bad base64",
        request: () => fetch(predictUrl, jsonRequest({ image: "@@@" })),
        status: 422,
        code: "invalid_base64",
      },
      {
        name: "multipart without image",
        request: () => {
          const f = new FormData();
          f.append("other", "x");
          return fetch(predictUrl, { method: "POST", body: f });
        },
        status: 422,
        code: "missing_image",
      },
      {
        name: "bad topK",
        request: () => fetch(`${predictUrl}?topK=0`, imageRequest(good.bytes)),
        status: 422,
        code: "invalid_query",
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const response = await c.request();
        assert.equal(response.status, c.status, c.name);
        assert.equal(response.headers.get("content-type")?.startsWith("application/json"), true, c.name);
        const error = await errorOf(response);
        assert.equal(error.code, c.code, `${c.name}: ${error.message}`);
      });
    }
    const allow = (await fetch(predictUrl)).headers.get("allow");
    assert.equal(allow, "POST");
    const after = await (await fetch(predictUrl, imageRequest(good.bytes))).json();
    assert.deepEqual(after.prediction, before.prediction);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.shutdown();
  }
});

/** Flips bytes inside the IDAT payload so the zlib stream or its CRC fails. */
function corrupt(png: Uint8Array): Uint8Array {
  const out = png.slice();
  const idat = new TextDecoder("latin1").decode(out).indexOf("IDAT");
  for (let i = idat + 6; i < Math.min(out.length - 12, idat + 40); i++) out[i] ^= 0x5a;
  return out;
}
