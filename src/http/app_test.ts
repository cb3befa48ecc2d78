/**
 * The HTTP layer over stub services (an in-memory linear model, an in-memory calibration store):
 * routes, status codes, error bodies and the API document, with no ONNX and no port.
 */
import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { randomLinearSoftmax } from "../attacks/testdata/linear_softmax.ts";
import type { Calibration, CalibrationStore } from "../calibration/store.ts";
import { DEFAULT_CHECK_LIMITS } from "../check/limits.ts";
import { decodeImage } from "../intake/decode.ts";
import type { DecodeJob, DecodePool } from "../intake/decode_pool.ts";
import { toModelPixels } from "../intake/to_pixels.ts";
import type { ModelSummary, Registry } from "../registry/registry.ts";
import type { InferenceEngine } from "../runtime/engine.ts";
import type { OnnxClassifier } from "../runtime/onnx_classifier.ts";
import { createApp } from "./app.ts";

const linear = randomLinearSoftmax({ seed: 7, classes: 3, channels: 1, height: 8, width: 8, scale: 2 });
const model: OnnxClassifier = {
  ...linear,
  manifest: { ...linear.manifest, id: "linear", defaults: { squeezeThreshold: 0.3 } },
  gradientInfo: { mode: "exact", unsupported: [], buildMs: {} },
  maxBatch: 64,
  release: () => Promise.resolve(),
};

function stubApp() {
  const stored = new Map<string, Calibration>();
  const calibrations: CalibrationStore = {
    get: (id, sha) => Promise.resolve(stored.get(`${id}/${sha}`) ?? null),
    set: (id, sha, c) => Promise.resolve(void stored.set(`${id}/${sha}`, c)),
  };
  const summary: ModelSummary = { ...model, source: "seed", version: null };
  const registry: Registry = {
    acquire: (id, version) => Promise.resolve(id === "linear" && version === undefined ? model : undefined),
    list: () => [summary],
    versions: (id) => Promise.resolve(id === "linear" ? [summary] : []),
    failures: [],
    close: () => Promise.resolve(),
  };
  const engine = { backend: "wasm", threads: 1, workers: 1 } as InferenceEngine;
  // The intake's decoding in this thread (the pool runs the same two calls in a Worker).
  const decoder = {
    async decode(job: DecodeJob) {
      const image = await decodeImage(job.bytes, job.maxPixels);
      const { pixels, resized } = toModelPixels(image, job.spec);
      const { format, width, height, bitDepth } = image;
      return { pixels, source: { format, width, height, bitDepth, resized }, decodeMs: 0 };
    },
  } as unknown as DecodePool;
  const app = createApp({
    registry,
    engine,
    calibrations,
    decoder,
    limits: { maxBodyBytes: 1_000_000, maxPixels: 1_000_000, maxRequestPixels: 10_000_000 },
    checkLimits: { ...DEFAULT_CHECK_LIMITS, maxCost: 5000 },
    maxModelBytes: 1_000_000,
  });
  return { app, calibrate: (c: Calibration) => calibrations.set("linear", model.sha256, c) };
}

function png(): string {
  const image = new PNG({ width: 8, height: 8, colorType: 0 });
  for (let i = 0; i < 64; i++) image.data.set([i * 4, i * 4, i * 4, 255], 4 * i);
  return PNG.sync.write(image).toString("base64");
}

const check = (app: ReturnType<typeof stubApp>["app"], options: unknown) =>
  app.request("/v1/models/linear/check", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image: png(), options }),
  });

const light = { randomization: { draws: 4, eot: false }, pgd: [{ eps: 0.2, steps: 3 }], minimalEpsilon: false };

Deno.test("http: bad check options and limits answer 422 naming the problem", async (t) => {
  const { app } = stubApp();
  const cases: [unknown, string, RegExp][] = [
    [{ pgd: [{ eps: 0.1, steps: 5000 }] }, "limit_exceeded", /maxSteps/],
    [{ pgd: [{ eps: 0.1, steps: 100, restarts: 40 }] }, "limit_exceeded", /maxRestarts/],
    [{ randomization: { draws: 1000 } }, "limit_exceeded", /maxDraws/],
    [{ pgd: [{ eps: 0.1, steps: 1000, restarts: 30 }] }, "limit_exceeded", /maxCost/],
    [{ fgsm: { eps: [1.5] } }, "invalid_options", /options\.fgsm\.eps\.0/],
    [{ pgd: [{ norm: "linf", eps: 2 }] }, "limit_exceeded", /maxEps/],
    [{ label: 3 }, "invalid_options", /options\.label/],
    [{ label: 1, target: 1 }, "invalid_options", /target/],
    [{ bogus: 1 }, "invalid_options", /options/],
    [{ minimalEpsilon: { low: 0.4, high: 0.2 } }, "invalid_options", /low < high/],
    [{ squeeze: { squeezers: [{ kind: "median", size: 0 }] } }, "invalid_options", /squeezers/],
    [{ randomization: { minSize: 30, maxSize: 29 } }, "invalid_options", /minSize/],
  ];
  for (const [options, code, message] of cases) {
    await t.step(JSON.stringify(options), async () => {
      const response = await check(app, options);
      assert.equal(response.status, 422);
      const { error } = await response.json();
      assert.equal(error.code, code, error.message);
      assert.match(error.message, message);
    });
  }
});

Deno.test("http: a target equal to the predicted class with no label is a 422, not a 500", async () => {
  const { app } = stubApp();
  const report = await (await check(app, light)).json();
  const response = await check(app, { ...light, target: report.prediction.index });
  assert.equal(response.status, 422);
  assert.equal((await response.json()).error.code, "invalid_options");
});

Deno.test("http: GET /v1/models/{id} reports the squeeze threshold /check uses", async () => {
  const { app, calibrate } = stubApp();
  const agree = async (expected: string) => {
    const info = await (await app.request("/v1/models/linear")).json();
    const report = await (await check(app, light)).json();
    assert.equal(info.squeeze.source, expected);
    assert.deepEqual(
      { threshold: info.squeeze.threshold, source: info.squeeze.source },
      { threshold: report.squeeze.threshold, source: report.squeeze.thresholdSource },
    );
  };
  await agree("manifest");
  const calibration = { threshold: 0.05, targetFpr: 0.05, fpr: 0.05, count: 10, calibratedAt: "2026-01-01T00:00:00Z" };
  // A calibration made with other squeezers does not apply (GET used to report it anyway).
  await calibrate({ ...calibration, squeezers: ["median:3"] });
  await agree("manifest");
  await calibrate({ ...calibration, squeezers: ["bitDepth:1", "median:2"] });
  await agree("calibration");
});

Deno.test("http: /openapi.json renders the report schema composed from the probes", async () => {
  const { app } = stubApp();
  const response = await app.request("/openapi.json");
  assert.equal(response.status, 200);
  const document = await response.json();
  const report = document.components.schemas.CheckReport;
  for (const key of ["squeeze", "randomization", "probes", "minimalEpsilon"]) {
    assert.ok(report.properties[key], `CheckReport.${key}`);
  }
  assert.ok(document.components.schemas.Probe.properties.gradient);
});
