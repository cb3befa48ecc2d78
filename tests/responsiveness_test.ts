import assert from "node:assert/strict";
import type { GradientSpec } from "../src/autodiff/derive.ts";
import { makeNode, valueInfo } from "../src/autodiff/graph.ts";
import { DataType, encodeModel, type ModelProto } from "../src/autodiff/proto.ts";
import { makeTensor } from "../src/autodiff/tensor.ts";
import { analyzeUpload } from "../src/registry/analyze_upload.ts";
import { processRuns, RELU_CHAIN_MANIFEST, reluChain } from "../src/registry/testing.ts";
import { pngBase64 } from "../src/check/images.ts";
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

/**
 * Uploads a model while one client polls /healthz, one request at a time: the longest wait between two answers is
 * how long the main thread was unavailable.
 */
async function uploadPollingHealth(url: string, bytes: Uint8Array, manifest: unknown) {
  const form = new FormData();
  form.append("model", new Blob([bytes as Uint8Array<ArrayBuffer>]), "model.onnx");
  form.append("manifest", JSON.stringify(manifest));
  let done = false;
  const upload = fetch(`${url}/v1/models`, { method: "POST", body: form }).then(async (r) => {
    done = true;
    return { status: r.status, body: await r.json() };
  });
  let last = performance.now(), longestWait = 0, answers = 0;
  while (!done) {
    const health = await fetch(`${url}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok" });
    const now = performance.now();
    longestWait = Math.max(longestWait, now - last);
    last = now;
    answers++;
  }
  return { ...await upload, longestWait, answers };
}

Deno.test("responsiveness: /healthz keeps answering while an upload's gradient check runs", async () => {
  // MobileNetV2 (width 0.35, 64²): the numerical gradient check of its validation takes seconds of WASM work.
  const autodiff = new URL("./fixtures/autodiff/", import.meta.url);
  const bytes = await Deno.readFile(new URL("mobilenet_v2_w035.onnx", autodiff));
  const { spec } = JSON.parse(await Deno.readTextFile(new URL("mobilenet_v2_w035.json", autodiff)));
  const manifest = { id: "mobilenet-w035", labels: Array.from({ length: 10 }, (_, i) => `class ${i}`), ...spec };
  const server = await startTestServer();
  try {
    const { status, body, longestWait, answers } = await uploadPollingHealth(server.url, bytes, manifest);
    assert.equal(status, 201, JSON.stringify(body));
    const { validationMs, gradient } = body.inspection;
    assert.equal(gradient.mode, "exact");
    assert.equal(gradient.check.ok, true);
    // On the main thread the check alone blocked health for most of the validation.
    assert.ok(
      longestWait < validationMs / 4,
      `health waited up to ${longestWait.toFixed(0)} ms during a ${validationMs.toFixed(0)} ms validation ` +
        `(${answers} answers)`,
    );
  } finally {
    await server.shutdown();
  }
});

/**
 * x [N,1,2,2] → Flatten → + c → MatMul → y [N,2], where the constant c is a chain of `adds` Adds: a small file whose
 * graph is slow to analyze (constant folding), though onnxruntime and the gradient graph make short work of it.
 */
function constantChain(adds: number): Uint8Array {
  const node = [makeNode("Flatten", ["x"], ["flat"])];
  for (let i = 0; i < adds; i++) node.push(makeNode("Add", [`c${i}`, "step"], [`c${i + 1}`]));
  node.push(makeNode("Add", ["flat", `c${adds}`], ["shifted"]), makeNode("MatMul", ["shifted", "W"], ["y"]));
  const graph = {
    name: "constant-chain",
    node,
    initializer: [
      makeTensor("c0", DataType.FLOAT, [1, 4], [0, 0, 0, 0]),
      makeTensor("step", DataType.FLOAT, [], [1e-6]),
      makeTensor("W", DataType.FLOAT, [4, 2], [1, 0, 0, 1, 1, 0, 0, 1]),
    ],
    input: [valueInfo("x", DataType.FLOAT, ["N", 1, 2, 2])],
    output: [valueInfo("y", DataType.FLOAT, ["N", 2])],
  };
  return encodeModel({ ir_version: 8, opset_import: [{ domain: "", version: 13 }], graph } as unknown as ModelProto);
}

Deno.test("responsiveness: /healthz keeps answering while a many-node upload's graph is analyzed", async () => {
  const bytes = constantChain(15_000);
  const spec: GradientSpec = {
    input: { name: "x", layout: "NCHW", channels: 1, height: 2, width: 2, scale: "unit", mean: [0], std: [1] },
    output: { name: "y", kind: "logits" },
  };
  const manifest = { id: "constant-chain", labels: ["a", "b"], ...spec };
  // What the analysis costs a thread: on the main thread, health would wait about this long.
  const started = performance.now();
  assert.equal(analyzeUpload(bytes, spec).ok, true);
  const analysisMs = performance.now() - started;
  const server = await startTestServer();
  try {
    const { status, body, longestWait } = await uploadPollingHealth(server.url, bytes, manifest);
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.inspection.ops.Add, 15_001);
    assert.ok(
      longestWait < analysisMs / 3,
      `health waited up to ${longestWait.toFixed(0)} ms; the analysis takes ${analysisMs.toFixed(0)} ms on a thread`,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("responsiveness: an upload whose sessions build too slowly is refused at the time limit while checks go on", async () => {
  // 8 000 Relus: onnxruntime-node needs minutes to build the gradient session (28 s at 5 000 here).
  const bytes = reluChain(8_000);
  const limitMs = 4_000;
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: MODELS_DIR,
    ROBUSTCHECK_BACKEND: "native",
    ROBUSTCHECK_WORKER_TIMEOUT_MS: String(limitMs),
  });
  try {
    const [image] = await loadFixtureImages("fashion", 1);
    const form = new FormData();
    form.append("model", new Blob([bytes as Uint8Array<ArrayBuffer>]), "model.onnx");
    form.append("manifest", JSON.stringify(RELU_CHAIN_MANIFEST));
    const started = performance.now();
    let done = false;
    const upload = fetch(`${server.url}/v1/models`, { method: "POST", body: form }).then(async (r) => {
      done = true;
      return { status: r.status, body: await r.json() };
    });
    let checks = 0, longestCheck = 0, prober: number | undefined;
    while (!done) {
      prober ??= server.registry.uploads?.probePid();
      const t = performance.now();
      const r = await fetch(
        `${server.url}/v1/models/fashion-cnn/check`,
        jsonRequest({ image: image.bytes.toBase64(), options: { profile: "screen" } }),
      );
      const text = await r.text();
      assert.equal(r.status, 200, text);
      longestCheck = Math.max(longestCheck, performance.now() - t);
      checks++;
    }
    const { status, body } = await upload;
    const elapsed = performance.now() - started;
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.error.code, "invalid_model");
    assert.match(body.error.message, new RegExp(`did not load it within ${limitMs} ms`));
    assert.ok(elapsed < limitMs + 10_000, `refused after ${elapsed.toFixed(0)} ms`);
    assert.ok(checks >= 5, `${checks} checks answered meanwhile`);
    assert.ok(longestCheck < limitMs / 2, `a check waited ${longestCheck.toFixed(0)} ms`);
    assert.ok(prober !== undefined, "the upload was loaded in a process of its own");
    assert.ok(!processRuns(prober), "the build was killed, not left running");
    assert.equal(server.registry.uploads?.probePid(), undefined);
    const list = await (await fetch(`${server.url}/v1/models`)).json();
    assert.ok(!JSON.stringify(list).includes("relu-chain"), "nothing was stored");
  } finally {
    await server.shutdown();
  }
});

Deno.test("responsiveness: a slow-building upload's first check loads on a Worker of its own while seed checks go on", async () => {
  // 400 Relus: building this upload's sessions takes most of a second (validation builds them once in its own process, the
  // first use again in the service). On the seed models' Worker that build would hold up every seed check.
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_BACKEND: "native" });
  try {
    const form = new FormData();
    form.append("model", new Blob([reluChain(400) as Uint8Array<ArrayBuffer>]), "model.onnx");
    form.append("manifest", JSON.stringify(RELU_CHAIN_MANIFEST));
    const uploaded = await fetch(`${server.url}/v1/models`, { method: "POST", body: form });
    assert.equal(uploaded.status, 201, await uploaded.text());
    const [seedImage] = await loadFixtureImages("fashion", 1);
    const tiny = pngBase64(new Float32Array([0.1, 0.9, 0.4, 0.6]), { channels: 1, height: 2, width: 2 });
    let firstUse = false;
    const first = fetch(
      `${server.url}/v1/models/relu-chain/check`,
      jsonRequest({ image: tiny, options: { profile: "screen" } }),
    ).then(async (r) => {
      firstUse = true;
      return { status: r.status, body: await r.json() };
    });
    let meanwhile = 0;
    while (!firstUse) {
      const r = await fetch(
        `${server.url}/v1/models/fashion-cnn/predict`,
        jsonRequest({ image: seedImage.bytes.toBase64() }),
      );
      assert.equal(r.status, 200, await r.text());
      if (!firstUse) meanwhile++;
    }
    const { status, body } = await first;
    assert.equal(status, 200, JSON.stringify(body));
    assert.ok(body.probes.length > 0 && body.probes.every((p: { gradient: string }) => p.gradient === "exact"));
    // On a shared Worker the seed predictions queue behind the build: at most the one sent before it answers.
    assert.ok(meanwhile >= 30, `${meanwhile} seed predictions answered while the upload loaded`);
  } finally {
    await server.shutdown();
  }
});
