import assert from "node:assert/strict";
import { imageRequest, jsonRequest, loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";

Deno.test("responsiveness: /healthz answers while a long check is still running", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    // An image the robust model classifies correctly with a wide margin, so ε = 0.01 cannot flip it
    // and all 300 steps × 4 restarts run.
    const candidates = await loadFixtureImages("fashion", 20);
    let image = candidates[0];
    for (const c of candidates) {
      const r = await fetch(`${server.url}/v1/models/fashion-cnn-robust/predict`, imageRequest(c.bytes));
      const { prediction } = await r.json();
      if (prediction.index === c.label && prediction.confidence > 0.95) {
        image = c;
        break;
      }
    }
    let checkDone = false;
    // The robust model resists, so 300 PGD steps × 4 restarts run to the end.
    const check = fetch(
      `${server.url}/v1/models/fashion-cnn-robust/check`,
      jsonRequest({
        image: image.bytes.toBase64(),
        options: {
          label: image.label,
          squeeze: false,
          randomization: false,
          fgsm: false,
          minimalEpsilon: false,
          pgd: [{ norm: "linf", eps: 0.01, steps: 300, restarts: 4, randomStart: true }],
        },
      }),
    ).then(async (r) => {
      checkDone = true;
      return await r.json();
    });
    const healthChecks: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const health = await fetch(`${server.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok" });
      healthChecks.push(checkDone);
    }
    const report = await check;
    assert.equal(report.probes[0].restarts, 4);
    assert.equal(report.probes[0].success, false, "ε = 0.01 should not break the robust model here");
    assert.deepEqual(healthChecks, [false, false, false, false, false], "health answered only after the check");
  } finally {
    await server.shutdown();
  }
});

Deno.test("responsiveness: /healthz answers while a squeezer selection is still running", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    // Colour: the candidates include non-local means, the heaviest squeezer, which runs on the main thread.
    const images = await loadFixtureImages("fashion-rgb", 40);
    let done = false;
    const selection = fetch(
      `${server.url}/v1/models/fashion-rgb/calibrate`,
      jsonRequest({
        images: images.map((i) => i.bytes.toBase64()),
        labels: images.map((i) => i.label),
        options: { select: true },
      }),
    ).then(async (r) => {
      done = true;
      return await r.json();
    });
    const healthChecks: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      const health = await fetch(`${server.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok" });
      healthChecks.push(done);
    }
    const report = await selection;
    assert.equal(report.selection.counts.images, 40);
    assert.deepEqual(healthChecks, [false, false, false, false, false], "health answered only after the selection");
  } finally {
    await server.shutdown();
  }
});

Deno.test("responsiveness: /healthz keeps answering while an upload's gradient check runs", async () => {
  // MobileNetV2 (width 0.35, 64²): the numerical gradient check of its validation takes seconds of WASM work.
  const autodiff = new URL("./fixtures/autodiff/", import.meta.url);
  const bytes = await Deno.readFile(new URL("mobilenet_v2_w035.onnx", autodiff));
  const { spec } = JSON.parse(await Deno.readTextFile(new URL("mobilenet_v2_w035.json", autodiff)));
  const manifest = { id: "mobilenet-w035", labels: Array.from({ length: 10 }, (_, i) => `class ${i}`), ...spec };
  const server = await startTestServer();
  try {
    const form = new FormData();
    form.append("model", new Blob([bytes]), "model.onnx");
    form.append("manifest", JSON.stringify(manifest));
    let done = false;
    const upload = fetch(`${server.url}/v1/models`, { method: "POST", body: form }).then(async (r) => {
      done = true;
      return { status: r.status, body: await r.json() };
    });
    // One client polling health one request at a time: the longest wait between two answers is how long the
    // main thread was unavailable.
    const answeredAt = [performance.now()];
    while (!done) {
      const health = await fetch(`${server.url}/healthz`);
      assert.deepEqual(await health.json(), { status: "ok" });
      answeredAt.push(performance.now());
    }
    const { status, body } = await upload;
    assert.equal(status, 201, JSON.stringify(body));
    const { validationMs, gradient } = body.inspection;
    assert.equal(gradient.mode, "exact");
    assert.equal(gradient.check.ok, true);
    const longestWait = Math.max(...answeredAt.slice(1).map((t, i) => t - answeredAt[i]));
    // On the main thread the check alone blocked health for most of the validation.
    assert.ok(
      longestWait < validationMs / 4,
      `health waited up to ${longestWait.toFixed(0)} ms during a ${validationMs.toFixed(0)} ms validation ` +
        `(${answeredAt.length - 1} answers)`,
    );
  } finally {
    await server.shutdown();
  }
});
