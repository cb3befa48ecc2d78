import assert from "node:assert/strict";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";
import { freshDataDir } from "../src/storage/testing.ts";
import { errorOf, jsonRequest, loadFixtureImages, MODELS_DIR } from "./support/server.ts";

async function serve(dataDir: string) {
  const config = loadConfig({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    ROBUSTCHECK_BACKEND: "wasm",
    ROBUSTCHECK_THREADS: "2",
    ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
    ROBUSTCHECK_DATA_DIR: dataDir,
  });
  const server = await startServer(config, () => {});
  return { ...server, url: `http://127.0.0.1:${server.port}` };
}

Deno.test("calibrate: the threshold reproduces the requested FPR, is used by check, and survives a restart", async () => {
  const dir = await freshDataDir();
  const images = await loadFixtureImages("fashion", 100);
  let first = await serve(dir);
  try {
    const form = new FormData();
    for (const image of images) {
      form.append("image", new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: "image/png" }));
    }
    form.append("options", JSON.stringify({ fpr: 0.1 }));
    const response = await fetch(`${first.url}/v1/models/fashion-cnn/calibrate`, { method: "POST", body: form });
    assert.equal(response.status, 200, await response.clone().text());
    const calibration = await response.json();
    assert.equal(calibration.count, 100);
    assert.equal(calibration.targetFpr, 0.1);
    assert.ok(calibration.fpr <= 0.1 && calibration.fpr >= 0.05, `fpr ${calibration.fpr}`);
    assert.deepEqual(calibration.squeezers, ["bitDepth:1", "median:2"]);

    // Checking the calibration images again flags exactly the reported share.
    let flagged = 0;
    for (const image of images) {
      const r = await fetch(
        `${first.url}/v1/models/fashion-cnn/check`,
        jsonRequest({
          image: image.bytes.toBase64(),
          options: { randomization: false, fgsm: false, pgd: false, minimalEpsilon: false },
        }),
      );
      const report = await r.json();
      assert.equal(report.squeeze.thresholdSource, "calibration");
      assert.equal(report.squeeze.threshold, calibration.threshold);
      if (report.squeeze.flagged) flagged++;
    }
    assert.equal(flagged / images.length, calibration.fpr);

    await first.shutdown();
    first = await serve(dir);
    const info = await (await fetch(`${first.url}/v1/models/fashion-cnn`)).json();
    assert.equal(info.squeeze.source, "calibration");
    assert.equal(info.squeeze.threshold, calibration.threshold);
    assert.equal(info.squeeze.calibration.count, 100);
    const other = await (await fetch(`${first.url}/v1/models/fashion-cnn-robust`)).json();
    assert.notEqual(other.squeeze.source, "calibration");

    const json = await fetch(`${first.url}/v1/models/fashion-cnn/calibrate`, jsonRequest({ images: [], options: {} }));
    assert.equal(json.status, 422);
    assert.equal((await errorOf(json)).code, "missing_image");
    const badFpr = await fetch(
      `${first.url}/v1/models/fashion-cnn/calibrate`,
      jsonRequest({ images: [images[0].bytes.toBase64()], options: { fpr: 2 } }),
    );
    assert.equal(badFpr.status, 422);
    assert.match((await errorOf(badFpr)).message, /options\.fpr/);
  } finally {
    await first.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
