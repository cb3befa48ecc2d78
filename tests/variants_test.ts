import assert from "node:assert/strict";
import { join } from "node:path";
import {
  FIXTURE_MODELS_DIR,
  fixtureModelsDir,
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  startTestServer,
} from "./support/server.ts";

const MODEL = join(FIXTURE_MODELS_DIR, "fashion-nhwc-prob");

Deno.test("variants: fixed batch 1, NHWC, byte scale, opset 11, probabilities output — served, checked, gradient verified", async () => {
  const dir = await fixtureModelsDir("fashion-nhwc-prob");
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: dir });
  try {
    const info = await (await fetch(`${server.url}/v1/models/fashion-nhwc-prob`)).json();
    assert.equal(info.maxBatch, 1);
    assert.equal(info.gradient.mode, "exact");
    assert.equal(info.output.kind, "probabilities");

    const images = await loadFixtureImages("fashion", 300);
    let correct = 0;
    for (const image of images) {
      const r = await (await fetch(`${server.url}/v1/models/fashion-nhwc-prob/predict`, imageRequest(image.bytes)))
        .json();
      if (r.prediction.index === image.label) correct++;
    }
    // 300 images against the accuracy on the 10k test split: ±4 points is > 2 standard errors.
    assert.ok(
      Math.abs(correct / images.length - info.provenance.testAccuracy) < 0.04,
      `accuracy ${correct / images.length}`,
    );

    // Batched work (restarts, draws, squeezers) must be split into single-row runs for this model.
    const response = await fetch(
      `${server.url}/v1/models/fashion-nhwc-prob/check`,
      jsonRequest({
        image: images[0].bytes.toBase64(),
        options: {
          label: images[0].label,
          seed: 3,
          pgd: [{ norm: "linf", eps: 0.1, steps: 10, restarts: 3, randomStart: true }],
        },
      }),
    );
    assert.equal(response.status, 200, await response.clone().text());
    const report = await response.json();
    assert.equal(report.randomization.draws, 20);
    assert.equal(report.probes.at(-1).restarts, 3);
    for (const p of report.probes) assert.equal(p.gradient, "exact");
    assert.equal(typeof report.minimalEpsilon.broken, "boolean");
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }

  // The derived gradient agrees with finite differences of the original model under this manifest.
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "src/cli/main.ts",
      "inspect",
      join(MODEL, "model.onnx"),
      "--json",
      "--manifest",
      join(MODEL, "manifest.json"),
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const inspection = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(inspection.opset, 11);
  assert.equal(inspection.gradient.ok, true, JSON.stringify(inspection.gradient));
  assert.equal(inspection.gradient.logitsMaxAbsDiff < 1e-4, true);
});
