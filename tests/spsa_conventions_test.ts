import assert from "node:assert/strict";
import { fixtureModelsDir, jsonRequest, loadFixtureImages, startTestServer } from "./support/server.ts";

// README: SPSA takes n = round(0.75·d) Rademacher directions clamped to [128, 1024], and a gradient
// row costs 2n + 1 forward passes. On a 28×28 grey model d = 784, so n = 588 (not d, not a bound).
Deno.test("spsa: the check's cost counts round(0.75·d) directions per gradient row", async () => {
  const dir = await fixtureModelsDir("fashion-atan");
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: dir });
  try {
    const [image] = await loadFixtureImages("fashion", 1);
    const options = { squeeze: false, randomization: false, pgd: false, minimalEpsilon: false, fgsm: { eps: [0.1] } };
    const response = await fetch(
      `${server.url}/v1/models/fashion-atan/check`,
      jsonRequest({ image: image.bytes.toBase64(), options }),
    );
    assert.equal(response.status, 200, await response.clone().text());
    const report = await response.json();
    assert.equal(report.probes[0].gradient, "spsa");
    const n = Math.round(0.75 * 784);
    // clean forward + one SPSA gradient row + one forward per ε
    assert.equal(report.cost.estimated, 1 + (2 * n + 1) + 1);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
