import assert from "node:assert/strict";
import {
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  MODELS_DIR,
  multipartRequest,
  startTestServer,
} from "./support/server.ts";

interface PredictBody {
  model: { id: string; sha256: string };
  prediction: {
    index: number;
    label: string;
    confidence: number;
    topK: { index: number; label: string; probability: number }[];
  };
  image: { format: string; width: number; height: number; resized: boolean };
  timings: { totalMs: number };
}

async function predictAll(url: string, images: { bytes: Uint8Array }[], form: "raw" | "multipart" | "json") {
  const out: PredictBody[] = [];
  for (const image of images) {
    const init = form === "raw"
      ? imageRequest(image.bytes)
      : form === "multipart"
      ? multipartRequest(image.bytes)
      : jsonRequest({ image: image.bytes.toBase64() });
    const response = await fetch(url, init);
    assert.equal(response.status, 200, await response.clone().text());
    out.push(await response.json());
  }
  return out;
}

Deno.test("predict: every fixture image, three body forms, accuracy matches the recorded test accuracy", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    const images = await loadFixtureImages("fashion");
    for (const id of ["fashion-cnn", "fashion-cnn-robust"]) {
      const url = `${server.url}/v1/models/${id}/predict?topK=3`;
      const raw = await predictAll(url, images, "raw");
      const multipart = await predictAll(url, images, "multipart");
      const json = await predictAll(url, images, "json");
      for (let i = 0; i < images.length; i++) {
        assert.deepEqual(multipart[i].prediction, raw[i].prediction, `multipart differs on ${images[i].file}`);
        assert.deepEqual(json[i].prediction, raw[i].prediction, `json differs on ${images[i].file}`);
        const p = raw[i].prediction;
        assert.equal(p.topK.length, 3);
        assert.equal(p.topK[0].index, p.index);
        assert.ok(p.topK[0].probability >= p.topK[1].probability && p.topK[1].probability >= p.topK[2].probability);
        assert.equal(raw[i].image.resized, false);
      }
      const correct = raw.filter((r, i) => r.prediction.index === images[i].label).length;
      const accuracy = correct / images.length;
      const model = await (await fetch(`${server.url}/v1/models/${id}`)).json();
      const recorded = model.provenance.testAccuracy as number;
      assert.ok(
        Math.abs(accuracy - recorded) <= 0.02,
        `${id}: accuracy on ${images.length} fixtures ${accuracy} vs recorded test accuracy ${recorded}`,
      );
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("predict: the RGB NHWC byte-scaled model classifies its colourised fixtures", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    const images = await loadFixtureImages("fashion-rgb");
    const results = await predictAll(`${server.url}/v1/models/fashion-rgb/predict`, images, "raw");
    const accuracy = results.filter((r, i) => r.prediction.index === images[i].label).length / images.length;
    const model = await (await fetch(`${server.url}/v1/models/fashion-rgb`)).json();
    assert.equal(model.input.layout, "NHWC");
    assert.equal(model.input.scale, "byte");
    // The same 100 images scored by torch at training time: at most one image may flip on float noise.
    assert.ok(Math.abs(accuracy - model.provenance.fixtureAccuracy) <= 0.01, `accuracy ${accuracy}`);
    // Greyscale fixtures are converted to RGB and resized 28 → 32 for this model.
    const grey = await loadFixtureImages("fashion", 1);
    const r = await fetch(`${server.url}/v1/models/fashion-rgb/predict`, imageRequest(grey[0].bytes));
    assert.equal(r.status, 200);
    assert.equal((await r.json()).image.resized, true);
  } finally {
    await server.shutdown();
  }
});

Deno.test("predict: ≥32 concurrent requests on two models all answer as they do one at a time", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR, ROBUSTCHECK_WORKERS: "2" });
  try {
    const images = await loadFixtureImages("fashion", 24);
    const ids = ["fashion-cnn", "fashion-cnn-robust"];
    const jobs = ids.flatMap((id) => images.map((image) => ({ id, image })));
    const sequential = [];
    for (const job of jobs) {
      const r = await fetch(`${server.url}/v1/models/${job.id}/predict`, imageRequest(job.image.bytes));
      sequential.push((await r.json()).prediction);
    }
    const concurrent = await Promise.all(jobs.map(async (job) => {
      const r = await fetch(`${server.url}/v1/models/${job.id}/predict`, imageRequest(job.image.bytes));
      assert.equal(r.status, 200);
      return (await r.json()).prediction;
    }));
    assert.equal(concurrent.length, 48);
    assert.deepEqual(concurrent, sequential);
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok" });
  } finally {
    await server.shutdown();
  }
});
