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
    assert.deepEqual(calibration.squeezers, ["bitDepth:2", "bitDepth:3", "bitDepth:4"]);

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

Deno.test("calibrate select: chooses a set on labelled images, /check uses it, deterministic, survives a restart", async () => {
  const dir = await freshDataDir();
  const images = await loadFixtureImages("fashion", 40);
  const labels = images.map((i) => i.label);
  const options = { select: true, seed: 3, fpr: 0.1 };
  let server = await serve(dir);
  try {
    const form = new FormData();
    for (const image of images) {
      form.append("image", new Blob([image.bytes as Uint8Array<ArrayBuffer>], { type: "image/png" }));
    }
    form.append("labels", JSON.stringify(labels));
    form.append("options", JSON.stringify(options));
    const response = await fetch(`${server.url}/v1/models/fashion-cnn/calibrate`, { method: "POST", body: form });
    assert.equal(response.status, 200, await response.clone().text());
    const result = await response.json();
    const { selection } = result;
    assert.equal(selection.counts.images, 40);
    assert.equal(selection.counts.selection + selection.counts.heldOut, 40);
    assert.equal(selection.search.sets, 9 + 36 + 84);
    assert.equal(selection.candidates.length, selection.search.sets);
    assert.deepEqual(selection.candidates[0].squeezers, selection.chosen);
    assert.deepEqual(result.squeezers, selection.chosen);
    assert.deepEqual(selection.baseline.squeezers, ["bitDepth:2", "bitDepth:3", "bitDepth:4"]);
    assert.ok(selection.counts.adversarial.selection.pgd > 0, "PGD at ε = 0.1 fools the plain CNN");
    assert.match(selection.dataSha256, /^[0-9a-f]{64}$/);

    // The same data and seed over JSON: the same report.
    const again = await fetch(
      `${server.url}/v1/models/fashion-cnn/calibrate`,
      jsonRequest({ images: images.map((i) => i.bytes.toBase64()), labels, options }),
    );
    assert.equal(again.status, 200);
    assert.deepEqual((await again.json()).selection, selection);

    const screen = { randomization: false, fgsm: false, pgd: false, minimalEpsilon: false };
    const check = async (extra: Record<string, unknown>) =>
      await (await fetch(
        `${server.url}/v1/models/fashion-cnn/check`,
        jsonRequest({ image: images[0].bytes.toBase64(), options: { ...screen, ...extra } }),
      )).json();
    const stored = await check({});
    assert.deepEqual(Object.keys(stored.squeeze.scores), selection.chosen);
    assert.equal(stored.squeeze.thresholdSource, "calibration");
    assert.equal(stored.squeeze.threshold, result.threshold);
    const named = await check({ squeeze: { squeezers: [{ kind: "median", size: 3 }] } });
    assert.deepEqual(Object.keys(named.squeeze.scores), ["median:3"]);
    assert.notEqual(named.squeeze.thresholdSource, "calibration");

    await server.shutdown();
    server = await serve(dir);
    const info = await (await fetch(`${server.url}/v1/models/fashion-cnn`)).json();
    assert.equal(info.squeeze.source, "calibration");
    assert.deepEqual(info.squeeze.squeezers, selection.chosen);
    assert.equal(info.squeeze.threshold, result.threshold);
    assert.deepEqual(info.squeeze.calibration.selection, selection);
    assert.deepEqual(Object.keys((await check({})).squeeze.scores), selection.chosen);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("calibrate select: bad requests are 422 and store nothing", async () => {
  const dir = await freshDataDir();
  const images = await loadFixtureImages("fashion", 24);
  const base64 = images.map((i) => i.bytes.toBase64());
  const labels = images.map((i) => i.label);
  const server = await serve(dir);
  try {
    const cases: [string, Record<string, unknown>, string][] = [
      ["no images", { images: [], labels: [], options: { select: true } }, "missing_image"],
      ["one class", { images: base64, labels: labels.map(() => 3), options: { select: true } }, "invalid_labels"],
      ["labels missing", { images: base64, options: { select: true } }, "invalid_labels"],
      ["labels mismatched", { images: base64, labels: labels.slice(1), options: { select: true } }, "invalid_labels"],
      [
        "label out of range",
        { images: base64, labels: labels.map(() => 10), options: { select: true } },
        "invalid_labels",
      ],
      ["fpr 0", { images: base64, labels, options: { select: true, fpr: 0 } }, "invalid_options"],
      ["fpr 0.6", { images: base64, labels, options: { select: true, fpr: 0.6 } }, "invalid_options"],
      ["squeezers with select", {
        images: base64,
        labels,
        options: { select: true, squeezers: [{ kind: "median", size: 2 }] },
      }, "invalid_options"],
      [
        "too few",
        { images: base64.slice(0, 5), labels: labels.slice(0, 5), options: { select: true } },
        "too_few_images",
      ],
    ];
    for (const [name, body, code] of cases) {
      const response = await fetch(`${server.url}/v1/models/fashion-cnn-robust/calibrate`, jsonRequest(body));
      assert.equal(response.status, 422, name);
      assert.equal((await errorOf(response)).code, code, name);
    }
    const info = await (await fetch(`${server.url}/v1/models/fashion-cnn-robust`)).json();
    assert.equal(info.squeeze.calibration, null);
    assert.equal(info.squeeze.source, "manifest");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
