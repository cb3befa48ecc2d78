/**
 * Golden reports: for fixed seeds, every /check report (minus `timings`) must serialise to exactly the
 * bytes committed in tests/fixtures/golden/check_reports.json. The cases spread over the shipped
 * models, an SPSA model, a probabilities model with a manifest `defaults.check` layer, and the option
 * paths (targeted, PGD L2, restarts, margin loss, minimal ε, squeezers, thresholds, returned images).
 *
 * After an intended change of the reports, regenerate with
 *   ROBUSTCHECK_GOLDEN_UPDATE=1 deno test -A tests/golden_test.ts
 * and say why in the commit.
 */
import assert from "node:assert/strict";
import {
  copyModel,
  FIXTURE_MODELS_DIR,
  jsonRequest,
  type LabelledImage,
  loadFixtureImages,
  MODELS_DIR,
  startTestServer,
} from "./support/server.ts";

const FIXTURE = new URL("./fixtures/golden/check_reports.json", import.meta.url);
const UPDATE = Deno.env.get("ROBUSTCHECK_GOLDEN_UPDATE") === "1";

interface GoldenCase {
  name: string;
  model: string;
  set: "fashion" | "fashion-rgb";
  image: number;
  /** `label: true` stands for the image's true label. */
  options: Record<string, unknown> & { label?: number | true | null };
}

const SMALL_MINIMAL = { bisectionSteps: 4, steps: 5, alphaFactor: 0.5 };

const CASES: GoldenCase[] = [
  {
    name: "cnn default, label given",
    model: "fashion-cnn",
    set: "fashion",
    image: 0,
    options: { label: true, seed: 7 },
  },
  { name: "cnn default, predicted label", model: "fashion-cnn", set: "fashion", image: 3, options: { seed: 1 } },
  {
    name: "cnn targeted",
    model: "fashion-cnn",
    set: "fashion",
    image: 1,
    options: { label: true, target: 4, seed: 3, minimalEpsilon: SMALL_MINIMAL },
  },
  {
    name: "robust pgd l2 + random starts + margin",
    model: "fashion-cnn-robust",
    set: "fashion",
    image: 2,
    options: {
      label: true,
      seed: 11,
      squeeze: false,
      randomization: false,
      fgsm: false,
      pgd: [
        { norm: "l2", eps: 2, steps: 8 },
        { norm: "linf", eps: 0.1, steps: 6, randomStart: true, restarts: 3, loss: "margin" },
        { norm: "linf", eps: 0.05, alpha: 0.02, steps: 5, randomStart: true, restarts: 2 },
      ],
      minimalEpsilon: false,
    },
  },
  {
    name: "robust custom minimalEpsilon",
    model: "fashion-cnn-robust",
    set: "fashion",
    image: 5,
    options: {
      label: true,
      seed: 5,
      squeeze: false,
      randomization: false,
      fgsm: { eps: [0.2] },
      pgd: false,
      minimalEpsilon: { low: 0.01, high: 0.3, bisectionSteps: 5, steps: 6, alphaFactor: 0.4, randomStart: true },
    },
  },
  {
    name: "robust minimalEpsilon without steps",
    model: "fashion-cnn-robust",
    set: "fashion",
    image: 6,
    options: { seed: 2, squeeze: false, randomization: false, pgd: false, minimalEpsilon: { high: 0.2 } },
  },
  {
    name: "cnn squeeze custom squeezers, eot custom",
    model: "fashion-cnn",
    set: "fashion",
    image: 7,
    options: {
      label: true,
      seed: 9,
      squeeze: { squeezers: [{ kind: "bitDepth", bits: 3 }, { kind: "median", size: 3 }] },
      randomization: { draws: 6, minSize: 28, maxSize: 31, canvas: 32, eot: { steps: 3, eps: 0.08, samples: 3 } },
      fgsm: { eps: [0.1] },
      pgd: false,
      minimalEpsilon: false,
    },
  },
  {
    name: "cnn request threshold, eot alpha, pgd off",
    model: "fashion-cnn",
    set: "fashion",
    image: 8,
    options: {
      seed: 4,
      topK: 3,
      squeeze: { threshold: 0.01 },
      randomization: { draws: 5, eot: { steps: 2, alpha: 0.03, samples: 2 } },
      fgsm: false,
      pgd: false,
      minimalEpsilon: false,
    },
  },
  {
    name: "cnn squeeze off, eot off, return both",
    model: "fashion-cnn",
    set: "fashion",
    image: 9,
    options: {
      label: true,
      seed: 8,
      squeeze: false,
      randomization: { draws: 4, eot: false },
      minimalEpsilon: SMALL_MINIMAL,
      return: ["adversarial", "perturbation"],
    },
  },
  {
    name: "robust return with no success",
    model: "fashion-cnn-robust",
    set: "fashion",
    image: 0,
    options: {
      label: true,
      seed: 6,
      randomization: false,
      fgsm: { eps: [0.001] },
      pgd: [{ eps: 0.001, steps: 2 }],
      minimalEpsilon: false,
      return: ["perturbation", "adversarial", "perturbation"],
    },
  },
  { name: "rgb default", model: "fashion-rgb", set: "fashion-rgb", image: 0, options: { label: true, seed: 7 } },
  {
    name: "rgb targeted, squeezers replaced",
    model: "fashion-rgb",
    set: "fashion-rgb",
    image: 4,
    options: {
      label: true,
      target: 0,
      seed: 12,
      squeeze: { squeezers: [{ kind: "nonLocalMeans", search: 5, patch: 3, h: 4 }] },
      randomization: { draws: 4, eot: { steps: 2, samples: 2 } },
      pgd: [{ norm: "l2", eps: 0.5, steps: 4 }],
      minimalEpsilon: SMALL_MINIMAL,
      return: ["adversarial"],
    },
  },
  {
    name: "spsa defaults",
    model: "fashion-atan",
    set: "fashion",
    image: 0,
    options: { label: true, seed: 1, randomization: { draws: 4 } },
  },
  {
    name: "spsa explicit eot + minimal",
    model: "fashion-atan",
    set: "fashion",
    image: 2,
    options: {
      seed: 2,
      squeeze: false,
      randomization: { draws: 3, eot: { steps: 1, samples: 1 } },
      fgsm: { eps: [0.2] },
      pgd: [{ eps: 0.1, steps: 2 }],
      minimalEpsilon: { bisectionSteps: 2, steps: 2, alphaFactor: 0.5 },
    },
  },
  {
    name: "manifest check layer, request turns pgd back on",
    model: "layered",
    set: "fashion",
    image: 3,
    options: { label: true, seed: 3, pgd: [{ eps: 0.1, steps: 4 }] },
  },
  {
    name: "manifest check layer alone",
    model: "layered",
    set: "fashion",
    image: 4,
    options: { seed: 0 },
  },
];

/** Runs after calibrating fashion-cnn-robust, so its threshold comes from the calibration. */
const CALIBRATED_CASES: GoldenCase[] = [
  {
    name: "robust calibrated threshold",
    model: "fashion-cnn-robust",
    set: "fashion",
    image: 11,
    options: { label: true, seed: 7, randomization: false, fgsm: false, pgd: false, minimalEpsilon: false },
  },
  {
    name: "robust calibration ignored for other squeezers",
    model: "fashion-cnn-robust",
    set: "fashion",
    image: 11,
    options: { seed: 7, squeeze: { squeezers: [{ kind: "median", size: 2 }] }, randomization: false, fgsm: false },
  },
];

async function goldenModelsDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-golden-" });
  for (const id of ["fashion-cnn", "fashion-cnn-robust", "fashion-rgb"]) {
    await copyModel(`${MODELS_DIR}${id}`, `${dir}/${id}`);
  }
  await copyModel(`${FIXTURE_MODELS_DIR}fashion-atan`, `${dir}/fashion-atan`);
  // A probabilities/NHWC/byte model whose manifest carries its own check defaults.
  await copyModel(`${FIXTURE_MODELS_DIR}fashion-nhwc-prob`, `${dir}/layered`, (m) => {
    m.id = "layered";
    m.defaults = {
      squeezeThreshold: 0.4,
      check: {
        topK: 2,
        randomization: { draws: 5, eot: { steps: 2, samples: 2 } },
        fgsm: { eps: [0.15] },
        pgd: false,
        minimalEpsilon: { high: 0.3, bisectionSteps: 3, steps: 4, alphaFactor: 0.3 },
      },
    };
  });
  return dir;
}

function withoutTimings(report: Record<string, unknown>): Record<string, unknown> {
  const { timings: _timings, ...rest } = report;
  return rest;
}

Deno.test("golden: check reports for fixed seeds are byte-identical to the committed ones", async (t) => {
  const dir = await goldenModelsDir();
  const server = await startTestServer({
    ROBUSTCHECK_MODELS_DIR: dir,
    // The committed reports are onnxruntime-web's (the edge backend); other backends differ in the last bits.
    ROBUSTCHECK_BACKEND: "wasm",
    ROBUSTCHECK_THREADS: "1",
  });
  const images: Record<string, LabelledImage[]> = {
    "fashion": await loadFixtureImages("fashion", 12),
    "fashion-rgb": await loadFixtureImages("fashion-rgb", 5),
  };
  const expected: Record<string, unknown> = UPDATE ? {} : JSON.parse(await Deno.readTextFile(FIXTURE));
  const actual: Record<string, unknown> = {};
  const run = async (c: GoldenCase) => {
    const image = images[c.set][c.image];
    const options = { ...c.options, ...(c.options.label === true ? { label: image.label } : {}) };
    const response = await fetch(
      `${server.url}/v1/models/${c.model}/check`,
      jsonRequest({ image: image.bytes.toBase64(), options }),
    );
    const text = await response.text();
    assert.equal(response.status, 200, text);
    actual[c.name] = withoutTimings(JSON.parse(text));
    // JSON numbers round-trip exactly, so equal serialisations mean byte-identical reports (key order included).
    if (!UPDATE) {
      assert.equal(JSON.stringify(actual[c.name]), JSON.stringify(expected[c.name]), `${c.name}: the report changed`);
    }
  };
  try {
    for (const c of CASES) await t.step(c.name, () => run(c));
    const calibration = await fetch(
      `${server.url}/v1/models/fashion-cnn-robust/calibrate`,
      jsonRequest({ images: images.fashion.slice(0, 10).map((i) => i.bytes.toBase64()), options: { fpr: 0.1 } }),
    );
    assert.equal(calibration.status, 200, await calibration.clone().text());
    await calibration.body?.cancel();
    for (const c of CALIBRATED_CASES) await t.step(c.name, () => run(c));
    if (UPDATE) {
      await Deno.mkdir(new URL(".", FIXTURE), { recursive: true });
      await Deno.writeTextFile(FIXTURE, JSON.stringify(actual, null, 1) + "\n");
    } else {
      assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), "the set of golden cases changed");
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
