import assert from "node:assert/strict";
import { randomizationProbe, RETURNED_DRAWS } from "./randomization.ts";
import { model, runProbe } from "./testdata/run_probe.ts";

Deno.test("randomization probe: votes over its draws and runs EoT-PGD through the same transforms", async () => {
  const settings = { ...randomizationProbe.fallback(model), draws: 6 };
  const { section, verdict } = await runProbe(randomizationProbe, settings);
  assert.equal(section.votes.reduce((n, v) => n + v.count, 0), 6);
  assert.ok(section.eot);
  assert.equal(section.eot.attack, "eot-pgd");
  assert.equal(section.eot.evalDraws, 6);
  assert.equal(verdict.suspicious, section.agreement < 0.5);
});

Deno.test('randomization probe: return ["randomized"] shows the first draws with the predictions that voted', async () => {
  const base = { ...randomizationProbe.fallback(model), eot: false as const };
  const settings = randomizationProbe.overlay(base, { draws: 10, return: ["randomized"] }, base);
  const { section } = await runProbe(randomizationProbe, settings);
  assert.equal(section.images?.length, RETURNED_DRAWS);
  for (const drawn of section.images!) {
    const votes = section.votes.find((v) => v.index === drawn.index);
    assert.ok(votes && votes.count >= section.images!.filter((d) => d.index === drawn.index).length);
    assert.ok(drawn.confidence > 0 && drawn.confidence <= 1);
    assert.ok(drawn.image.startsWith("iVBOR"), "a base64 PNG");
  }
  const few = randomizationProbe.overlay(base, { draws: 2, return: ["randomized"] }, base);
  assert.equal((await runProbe(randomizationProbe, few)).section.images?.length, 2);
  assert.equal((await runProbe(randomizationProbe, base)).section.images, undefined);
});
