import assert from "node:assert/strict";
import { jsonRequest, loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";

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
