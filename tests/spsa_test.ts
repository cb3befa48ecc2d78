import assert from "node:assert/strict";
import { fixtureModelsDir, jsonRequest, loadFixtureImages, startTestServer } from "./support/server.ts";

Deno.test("spsa: a model with an op lacking a rule is served with SPSA gradients, and says so", async () => {
  const dir = await fixtureModelsDir("fashion-atan");
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: dir });
  try {
    const info = await (await fetch(`${server.url}/v1/models/fashion-atan`)).json();
    assert.equal(info.gradient.mode, "spsa");
    assert.deepEqual(info.gradient.unsupported, ["Atan"]);
    assert.match(info.gradient.reason, /Atan/);

    const images = await loadFixtureImages("fashion", 6);
    let fooled = 0;
    for (const image of images) {
      const response = await fetch(
        `${server.url}/v1/models/fashion-atan/check`,
        jsonRequest({ image: image.bytes.toBase64(), options: { label: image.label, fgsm: { eps: [0.25] }, seed: 1 } }),
      );
      assert.equal(response.status, 200, await response.clone().text());
      const report = await response.json();
      assert.ok(report.probes.length >= 2);
      for (const p of report.probes) assert.equal(p.gradient, "spsa");
      // SPSA models get lighter defaults: no EoT and no minimal-ε search unless asked.
      assert.equal(report.minimalEpsilon, null);
      assert.equal(report.randomization.eot, null);
      if (report.probes[0].success) fooled++;
    }
    // A black-box FGSM at ε = 0.25 still fools this weak model on most images.
    assert.ok(fooled >= 4, `FGSM-SPSA fooled ${fooled}/6`);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
