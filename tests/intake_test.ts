import assert from "node:assert/strict";
import {
  concat,
  gradientJpeg,
  greyPng,
  greyScanlines,
  idat,
  iend,
  ihdr,
  jpegSegments,
  pngBytes,
} from "../src/intake/testdata/craft.ts";
import { encodeWebp, pattern } from "../src/intake/testdata/webp_encode.ts";
import { errorOf, imageRequest, loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";

function imagesForm(images: Uint8Array[]): RequestInit {
  const form = new FormData();
  for (const bytes of images) form.append("image", new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "image/png" }));
  return { method: "POST", body: form };
}

Deno.test("intake: each image defect of issue 8 is a 422 over HTTP, on predict and on calibrate", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_REQUEST_PIXELS: "20000" });
  const predictUrl = `${server.url}/v1/models/fashion-cnn/predict`;
  try {
    const jpeg = gradientJpeg(28, 28);
    const webp = await encodeWebp(pattern(28, 28), 28, 28);
    const scanStart = jpegSegments(jpeg).find((s) => s.marker === 0xda)!.end;
    const cases: [string, Uint8Array, string][] = [
      // The 98-byte PNG: the first IHDR passes the pixel limit, the decoder would have used the second.
      ["two IHDR", pngBytes([ihdr(1, 1), ihdr(50_000, 50_000), idat(greyScanlines(1, 1, () => 0)), iend]), "image/png"],
      ["missing IDAT", pngBytes([ihdr(28, 28), iend]), "image/png"],
      ["short IDAT", pngBytes([ihdr(28, 28), idat(greyScanlines(28, 9, () => 255)), iend]), "image/png"],
      ["PNG cut short", greyPng(28, 28).subarray(0, 70), "image/png"],
      [
        "interlaced bomb",
        pngBytes([ihdr(2000, 2000, { interlace: 1 }), idat(new Uint8Array(30e6)), iend]),
        "image/png",
      ],
      ["JPEG cut inside its scan", jpeg.subarray(0, scanStart + 40), "image/jpeg"],
      ["JPEG cut and closed", concat([jpeg.subarray(0, scanStart + 40), Uint8Array.of(0xff, 0xd9)]), "image/jpeg"],
      ["JPEG without EOI", jpeg.subarray(0, jpeg.length - 2), "image/jpeg"],
      ["WebP cut short", webp.subarray(0, webp.length - 10), "image/webp"],
    ];
    for (const [name, bytes, type] of cases) {
      const response = await fetch(predictUrl, imageRequest(bytes, type));
      assert.equal(response.status, 422, name);
      assert.equal((await errorOf(response)).code, "undecodable_image", name);
    }

    const whole = await fetch(predictUrl, imageRequest(webp, "image/webp"));
    assert.equal(whole.status, 200);
    assert.deepEqual((await whole.json()).image, {
      format: "webp",
      width: 28,
      height: 28,
      bitDepth: 8,
      resized: false,
    });

    // Calibration: one bad image among good ones fails the request, names the image, and stores nothing.
    const good = (await loadFixtureImages("fashion", 4)).map((i) => i.bytes);
    const before = (await (await fetch(`${server.url}/v1/models/fashion-cnn`)).json()).squeeze;
    const shortIdat = cases[2][1];
    const response = await fetch(`${server.url}/v1/models/fashion-cnn/calibrate`, imagesForm([...good, shortIdat]));
    assert.equal(response.status, 422);
    const error = await errorOf(response);
    assert.equal(error.code, "undecodable_image");
    assert.match(error.message, /^image 4: /);
    assert.deepEqual((await (await fetch(`${server.url}/v1/models/fashion-cnn`)).json()).squeeze, before);

    // The per-request pixel budget (20 000 here) counts every image's header before any is decoded.
    const many = Array.from({ length: 26 }, () => good[0]); // 26 × 784 > 20 000
    const overBudget = await fetch(`${server.url}/v1/models/fashion-cnn/calibrate`, imagesForm(many));
    assert.equal(overBudget.status, 413);
    assert.match((await errorOf(overBudget)).message, /limit for one request is 20000/);
    assert.equal((await fetch(predictUrl, imageRequest(good[0]))).status, 200);
  } finally {
    await server.shutdown();
  }
});

Deno.test("intake: /healthz stays responsive while two 36 MP images decode", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_DECODE_WORKERS: "2" });
  try {
    const big = greyPng(6000, 6000, { value: (x, y) => ((x >> 6) + (y >> 6)) % 2 ? 230 : 20 });
    let pending = 2;
    const decodes = [0, 1].map(() =>
      fetch(`${server.url}/v1/models/fashion-cnn/predict`, imageRequest(big)).then(async (r) => {
        pending--;
        return { status: r.status, body: await r.json() };
      })
    );
    const latencies: number[] = [];
    while (pending > 0) {
      const start = performance.now();
      const health = await fetch(`${server.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok" });
      if (pending > 0) latencies.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const { status, body } of await Promise.all(decodes)) {
      assert.equal(status, 200, JSON.stringify(body));
      assert.deepEqual([body.image.width, body.image.height, body.image.resized], [6000, 6000, true]);
    }
    assert.ok(latencies.length >= 3, `only ${latencies.length} health checks ran while decoding`);
    // Generous: on the main thread these decodes stalled /healthz for seconds.
    assert.ok(Math.max(...latencies) < 1000, `slowest /healthz ${Math.max(...latencies).toFixed(0)} ms`);
  } finally {
    await server.shutdown();
  }
});
