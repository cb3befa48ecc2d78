import assert from "node:assert/strict";
import { PNG } from "pngjs";
import { Buffer } from "node:buffer";
import {
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  MODELS_DIR,
  multipartRequest,
  startTestServer,
} from "./support/server.ts";

// deno-lint-ignore no-explicit-any
type Report = any;

async function check(url: string, bytes: Uint8Array, options?: unknown): Promise<Report> {
  const response = await fetch(url, jsonRequest({ image: bytes.toBase64(), options }));
  assert.equal(response.status, 200, await response.clone().text());
  return await response.json();
}

function withoutTimings(report: Report): Report {
  const { timings: _timings, ...rest } = report;
  return rest;
}

Deno.test("check: the default report has every section, is consistent, and is deterministic", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    const [image] = await loadFixtureImages("fashion", 1);
    const url = `${server.url}/v1/models/fashion-cnn/check`;
    const report = await check(url, image.bytes, { label: image.label, seed: 7 });
    assert.equal(report.model.id, "fashion-cnn");
    assert.equal(report.label.index, image.label);
    assert.equal(report.label.source, "request");
    // The manifest's selected squeezers (models/README.md, "Feature-squeezing defaults").
    assert.deepEqual(Object.keys(report.squeeze.scores), ["bitDepth:2", "bitDepth:3", "bitDepth:4"]);
    assert.equal(report.squeeze.joint, Math.max(...Object.values(report.squeeze.scores) as number[]));
    assert.equal(report.randomization.draws, 20);
    assert.equal(report.randomization.votes.reduce((n: number, v: { count: number }) => n + v.count, 0), 20);
    assert.equal(typeof report.randomization.eot.success, "boolean");
    assert.deepEqual(report.probes.map((p: Report) => `${p.attack}:${p.norm}:${p.eps}`), [
      "fgsm:linf:0.05",
      "fgsm:linf:0.1",
      "fgsm:linf:0.25",
      "pgd:linf:0.1",
      "pgd:l2:1.5",
    ]);
    for (const p of report.probes) {
      assert.equal(p.gradient, "exact");
      if (p.norm === "linf") assert.ok(p.perturbation.linf <= p.eps + 1e-6);
      else assert.ok(p.perturbation.l2 <= p.eps + 1e-4);
      assert.equal(p.success, p.adversarial.index !== image.label);
    }
    assert.ok(report.score >= 0 && report.score <= 1);
    assert.equal(report.verdict.fragile, report.probes.some((p: Report) => p.success));
    for (
      const stage of [
        "screeningForwardMs",
        "squeezeMs",
        "randomizationMs",
        "fgsmMs",
        "pgdMs",
        "minimalEpsilonMs",
        "totalMs",
      ]
    ) {
      assert.equal(typeof report.timings[stage], "number", stage);
    }
    const again = await check(url, image.bytes, { label: image.label, seed: 7 });
    assert.deepEqual(withoutTimings(again), withoutTimings(report));
    // Raw and multipart bodies give the same report as JSON.
    const raw = await fetch(
      `${url}?options=${encodeURIComponent(JSON.stringify({ label: image.label, seed: 7 }))}`,
      imageRequest(image.bytes),
    );
    assert.deepEqual(withoutTimings(await raw.json()), withoutTimings(report));
    const multi = await fetch(url, multipartRequest(image.bytes, { label: image.label, seed: 7 }));
    assert.deepEqual(withoutTimings(await multi.json()), withoutTimings(report));
  } finally {
    await server.shutdown();
  }
});

Deno.test("check: the documented options contract, probes off, returned images", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    const [image] = await loadFixtureImages("fashion", 1);
    const url = `${server.url}/v1/models/fashion-cnn/check`;
    const contract = {
      label: image.label,
      target: null,
      seed: 7,
      squeeze: { squeezers: [{ kind: "bitDepth", bits: 1 }, { kind: "median", size: 2 }] },
      randomization: { draws: 20, minSize: 28, maxSize: 33, canvas: 33, eot: { steps: 10, eps: 0.1 } },
      fgsm: { eps: [0.05, 0.1, 0.25] },
      pgd: [
        { norm: "linf", eps: 0.1, alpha: 0.01, steps: 40, randomStart: false, restarts: 1, loss: "ce" },
        { norm: "l2", eps: 1.5, alpha: 0.1, steps: 40 },
      ],
      minimalEpsilon: { low: 0, high: 0.5, bisectionSteps: 10, steps: 20, alphaFactor: 0.125 },
      return: ["adversarial", "perturbation"],
    };
    const report = await check(url, image.bytes, contract);
    assert.equal(report.options.randomization.canvas, 33);
    assert.equal(report.options.pgd[0].alpha, 0.01);
    assert.equal(report.options.pgd[1].alpha, 0.1);
    assert.equal(report.options.minimalEpsilon.bisectionSteps, 10);
    assert.equal(report.minimalEpsilon.broken, true);
    assert.ok(report.minimalEpsilon.linf > 0 && report.minimalEpsilon.linf <= 0.5);
    assert.ok(report.images.adversarial, "an adversarial image comes back");
    for (const key of ["adversarial", "perturbation"]) {
      const png = PNG.sync.read(Buffer.from(report.images[key], "base64"));
      assert.equal(png.width, 28);
      assert.equal(png.height, 28);
    }
    const off = await check(url, image.bytes, {
      squeeze: false,
      randomization: false,
      fgsm: false,
      pgd: false,
      minimalEpsilon: false,
    });
    assert.equal(off.squeeze, null);
    assert.equal(off.randomization, null);
    assert.deepEqual(off.probes, []);
    assert.equal(off.minimalEpsilon, null);
    assert.equal(off.label.source, "prediction");
    const targeted = await check(url, image.bytes, {
      label: image.label,
      target: (image.label + 1) % 10,
      squeeze: false,
      randomization: false,
      minimalEpsilon: false,
      fgsm: false,
      pgd: [{ norm: "linf", eps: 0.3, steps: 40 }],
    });
    assert.equal(targeted.probes[0].targeted, true);
    assert.equal(targeted.probes[0].success, targeted.probes[0].adversarial.index === (image.label + 1) % 10);
  } finally {
    await server.shutdown();
  }
});

Deno.test("check: the adversarially trained model needs a clearly larger minimal ε", async () => {
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: MODELS_DIR });
  try {
    const images = await loadFixtureImages("fashion", 24);
    const options = { squeeze: false, randomization: false, fgsm: false, pgd: false };
    const medians: Record<string, number> = {};
    for (const id of ["fashion-cnn", "fashion-cnn-robust"]) {
      const radii: number[] = [];
      for (const image of images) {
        const r = await check(`${server.url}/v1/models/${id}/check`, image.bytes, { ...options, label: image.label });
        radii.push(r.minimalEpsilon.broken ? r.minimalEpsilon.linf : Infinity);
      }
      radii.sort((a, b) => a - b);
      medians[id] = radii[Math.floor(radii.length / 2)];
    }
    assert.ok(medians["fashion-cnn-robust"] > 2 * medians["fashion-cnn"], JSON.stringify(medians));
  } finally {
    await server.shutdown();
  }
});
