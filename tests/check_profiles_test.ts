import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import {
  copyModel,
  fixtureModelsDir,
  jsonRequest,
  loadFixtureImages,
  MODELS_DIR,
  startTestServer,
} from "./support/server.ts";

// deno-lint-ignore no-explicit-any
type Report = any;

Deno.test("check profiles: screen runs no PGD and no minimal-ε, costs less than standard, as GET /v1/models/{id} says", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    const [image] = await loadFixtureImages("fashion", 1);
    const check = async (options: unknown): Promise<Report> => {
      const response = await fetch(
        `${server.url}/v1/models/fashion-cnn/check`,
        jsonRequest({ image: image.bytes.toBase64(), options }),
      );
      assert.equal(response.status, 200, await response.clone().text());
      return await response.json();
    };
    const screen = await check({ label: image.label, profile: "screen" });
    const standard = await check({ label: image.label });
    assert.deepEqual([...new Set(screen.probes.map((p: { attack: string }) => p.attack))], ["fgsm"]);
    assert.ok(standard.probes.some((p: { attack: string }) => p.attack === "pgd"));
    assert.equal(screen.minimalEpsilon, null);
    assert.ok(standard.minimalEpsilon);
    assert.equal(screen.randomization.eot, null);
    assert.equal(screen.randomization.draws, standard.randomization.draws);
    assert.deepEqual(screen.squeeze.scores, standard.squeeze.scores);
    assert.ok(screen.cost.estimated < standard.cost.estimated, `${screen.cost.estimated} < ${standard.cost.estimated}`);

    const info = await (await fetch(`${server.url}/v1/models/fashion-cnn`)).json();
    const costs = Object.fromEntries(info.profiles.map((p: { name: string; cost: number }) => [p.name, p.cost]));
    assert.deepEqual(Object.keys(costs), ["screen", "standard", "thorough"]);
    assert.equal(costs.screen, screen.cost.estimated);
    assert.equal(costs.standard, standard.cost.estimated);
    assert.ok(costs.standard < costs.thorough);

    const explicit = await check({ label: image.label, profile: "screen", pgd: [{ eps: 0.05, steps: 3 }] });
    assert.deepEqual(
      explicit.probes.filter((p: { attack: string }) => p.attack === "pgd").map((p: { steps: number }) => p.steps),
      [3],
    );
    const bad = await fetch(
      `${server.url}/v1/models/fashion-cnn/check`,
      jsonRequest({ image: image.bytes.toBase64(), options: { profile: "fast" } }),
    );
    assert.equal(bad.status, 422);
    assert.match((await bad.json()).error.message, /options\.profile/);
  } finally {
    await server.shutdown();
  }
});

/** A PNG nearest-upscaled by an integer factor (each pixel becomes a factor×factor block). */
function upscaledPng(bytes: Uint8Array, factor: number): Uint8Array {
  const source = PNG.sync.read(Buffer.from(bytes));
  const out = new PNG({ width: source.width * factor, height: source.height * factor });
  for (let y = 0; y < out.height; y++) {
    for (let x = 0; x < out.width; x++) {
      const from = 4 * (Math.floor(y / factor) * source.width + Math.floor(x / factor));
      out.data.set(source.data.subarray(from, from + 4), 4 * (y * out.width + x));
    }
  }
  return new Uint8Array(PNG.sync.write(out, { colorType: 2 }));
}

Deno.test("check profiles: screen on a 96×96 model runs bit depth + median, 3 draws and FGSM at 8/255; a calibrated standard set's threshold holds", async () => {
  const dir = await fixtureModelsDir("fashion-rgb-96");
  await copyModel(`${MODELS_DIR}fashion-rgb`, `${dir}/fashion-rgb`);
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: dir });
  try {
    const images = await loadFixtureImages("fashion-rgb", 20);
    const large = images.map((i) => upscaledPng(i.bytes, 3));
    const check = async (model: string, bytes: Uint8Array, options: unknown): Promise<Report> => {
      const response = await fetch(
        `${server.url}/v1/models/${model}/check`,
        jsonRequest({ image: bytes.toBase64(), options }),
      );
      assert.equal(response.status, 200, await response.clone().text());
      return await response.json();
    };
    const screen = await check("fashion-rgb-96", large[0], { profile: "screen" });
    // The fixture is fashion-rgb behind a 3×3 average pool: the same prediction on the 3× upscaled image.
    const small = await check("fashion-rgb", images[0].bytes, { profile: "screen" });
    assert.equal(screen.prediction.index, small.prediction.index);
    assert.ok(Math.abs(screen.prediction.confidence - small.prediction.confidence) < 1e-4);

    assert.deepEqual(Object.keys(screen.squeeze.scores), ["bitDepth:5", "median:2"]);
    assert.equal(screen.squeeze.thresholdSource, "none", "no threshold was calibrated for this model");
    assert.equal(screen.randomization.draws, 3);
    assert.equal(screen.randomization.eot, null);
    assert.deepEqual(screen.probes.map((p: { attack: string; eps: number }) => [p.attack, p.eps]), [["fgsm", 8 / 255]]);
    assert.equal(screen.minimalEpsilon, null);
    assert.equal(screen.cost.estimated, 1 + 2 + 3 + (2 + 1));

    // Calibrating the model's standard squeezers gives a threshold the screen's subset keeps.
    const calibrated = await fetch(
      `${server.url}/v1/models/fashion-rgb-96/calibrate`,
      jsonRequest({ images: large.map((b) => b.toBase64()), options: { fpr: 0.1 } }),
    );
    assert.equal(calibrated.status, 200, await calibrated.clone().text());
    const calibration = await calibrated.json();
    assert.deepEqual(calibration.squeezers, ["bitDepth:5", "median:2", "nonLocalMeans:13-3-2"]);
    const again = await check("fashion-rgb-96", large[0], { profile: "screen" });
    assert.deepEqual(
      [again.squeeze.thresholdSource, again.squeeze.threshold],
      ["calibration", calibration.threshold],
    );
    assert.deepEqual(again.squeeze.scores, screen.squeeze.scores);
    const other = await check("fashion-rgb-96", large[0], {
      profile: "screen",
      squeeze: { squeezers: [{ kind: "median", size: 3 }] },
    });
    assert.equal(other.squeeze.thresholdSource, "none", "a squeezer outside the calibrated set gets no threshold");

    const info = await (await fetch(`${server.url}/v1/models/fashion-rgb-96`)).json();
    const costs = Object.fromEntries(info.profiles.map((p: { name: string; cost: number }) => [p.name, p.cost]));
    assert.equal(costs.screen, screen.cost.estimated);
    const standard = await check("fashion-rgb-96", large[0], {
      profile: "standard",
      pgd: false,
      minimalEpsilon: false,
      randomization: { eot: false },
    });
    assert.deepEqual(Object.keys(standard.squeeze.scores), calibration.squeezers);
    assert.equal(standard.randomization.draws, 20);
    assert.equal(standard.probes.length, 3);
    assert.ok(costs.screen < costs.standard && costs.standard < costs.thorough);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
