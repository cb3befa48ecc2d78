// Examples shown in /openapi.json and /docs. They are real: the image is tests/fixtures/fashion/0000.png (an
// "Ankle boot", class 9) and the responses were produced by fashion-cnn on the wasm backend with CHECK_OPTIONS_EXAMPLE
// (values rounded). tests/openapi_document_test.ts validates each against the schema it illustrates.

/** A 28×28 greyscale PNG (Fashion-MNIST test image 0), base64. */
export const IMAGE_BASE64_EXAMPLE =
  "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAABUUlEQVR4nN2RPUvDUBiFz3tzm/QmaayE2lrBj6EUFXESxeImuouLg4td/AH+L8HByV/g6CS4KCq2RVPbJLVt7odDQdBZHHzG83DOcoB/jUWAgxrAvsXEMHfoKQOMcPBTQmOn0QSAmeMY4N8H5cZyu3YeiYcwePrRZNI7pHyBGK1mXf4lCYxgaZy2WyLfVjod24E3kQQDbSyFo0orKb51Mp4D82oTacA4QeFk/TEsin5BDzIy2AcHGAxpDVQPxJ3vhGPjQo1UqhvgltKAQWmxPjvuF4Ocoxdy75lmH1a8yhXKC54nltwsYVNCuoOR/TLldv3ptBJy7FZlyVIy9ivkdJlvpUlvBuhq4Ui+17x9idnYotjWBRI6Vymv2AypO0w6/HprrQEZR1HPprDuBmb95n7XMZDP/QIB8Dfr26XAI6Oj26vLIXAx/xrHcnT2i0//AZ9ign3/9ZgRIQAAAABJRU5ErkJggg==";

/** Small check options: one FGSM and one PGD probe, 8 randomization draws, a 4-step minimal-ε search. */
export const CHECK_OPTIONS_EXAMPLE = {
  label: 9,
  seed: 7,
  fgsm: { eps: [0.1] },
  pgd: [{ norm: "linf", eps: 0.1, steps: 10 }],
  randomization: { draws: 8, eot: false },
  minimalEpsilon: { bisectionSteps: 4 },
};

export const PREDICT_RESPONSE_EXAMPLE = {
  model: { id: "fashion-cnn", sha256: "dd5eadfbf0c42028678c3fd51f4885ac070c582ae998a641ac766b329ecb019d" },
  prediction: {
    index: 9,
    label: "Ankle boot",
    confidence: 0.9778,
    topK: [{ index: 9, label: "Ankle boot", probability: 0.9778 }, {
      index: 7,
      label: "Sneaker",
      probability: 0.0193,
    }, { index: 5, label: "Sandal", probability: 0.0025 }],
  },
  image: { format: "png", width: 28, height: 28, bitDepth: 8, resized: false },
  backend: "wasm",
  timings: { decodeMs: 10.8, inferenceMs: 21.9, totalMs: 35.0 },
};

export const CHECK_REPORT_EXAMPLE = {
  model: { id: "fashion-cnn", sha256: "dd5eadfbf0c42028678c3fd51f4885ac070c582ae998a641ac766b329ecb019d" },
  backend: "wasm",
  prediction: {
    index: 9,
    label: "Ankle boot",
    confidence: 0.9778,
    topK: [
      { index: 9, label: "Ankle boot", probability: 0.9778 },
      { index: 7, label: "Sneaker", probability: 0.0193 },
      { index: 5, label: "Sandal", probability: 0.0025 },
      { index: 8, label: "Bag", probability: 0.0004 },
      { index: 0, label: "T-shirt/top", probability: 0.0 },
    ],
  },
  label: { index: 9, label: "Ankle boot", source: "request" },
  target: null,
  squeeze: {
    scores: { "bitDepth:2": 0.0914, "bitDepth:3": 0.0054, "bitDepth:4": 0.0014 },
    joint: 0.0914,
    threshold: 0.3992,
    thresholdSource: "manifest",
    flagged: false,
  },
  randomization: {
    draws: 8,
    agreement: 1,
    votes: [{ index: 9, label: "Ankle boot", count: 8 }],
    eot: null,
  },
  probes: [{
    attack: "fgsm",
    norm: "linf",
    eps: 0.1,
    steps: 1,
    alpha: 0.1,
    restarts: 1,
    randomStart: false,
    targeted: false,
    target: null,
    loss: "ce",
    success: true,
    iterations: 1,
    adversarial: { index: 7, label: "Sneaker", confidence: 0.8409 },
    perturbation: { linf: 0.1, l2: 2.1666 },
    gradient: "exact",
  }, {
    attack: "pgd",
    norm: "linf",
    eps: 0.1,
    steps: 10,
    alpha: 0.025,
    restarts: 1,
    randomStart: false,
    targeted: false,
    target: null,
    loss: "ce",
    success: true,
    iterations: 2,
    adversarial: { index: 7, label: "Sneaker", confidence: 0.901 },
    perturbation: { linf: 0.05, l2: 1.0043 },
    gradient: "exact",
  }],
  minimalEpsilon: {
    linf: 0.0312,
    broken: true,
    method: "bisection-pgd-linf",
    bounds: [0, 0.0312],
    gradient: "exact",
  },
  sweep: null,
  score: 0.503,
  scoreParts: { fragility: 0.9375, squeeze: 0.1144, instability: 0 },
  verdict: {
    suspectedAdversarial: false,
    fragile: true,
    reasons: [
      'fgsm linf ε=0.1 changed the prediction to "Sneaker" (iteration 1)',
      'pgd linf ε=0.1 changed the prediction to "Sneaker" (iteration 2)',
      "the smallest L∞ ε found to flip the prediction is ≤ 0.03125",
    ],
  },
  cost: { estimated: 141, budget: 50000 },
  timings: {
    squeezeMs: 0.6,
    randomizationMs: 0.7,
    screeningForwardMs: 14.8,
    fgsmMs: 62.7,
    pgdMs: 7.6,
    minimalEpsilonMs: 41.2,
    totalMs: 128.3,
    decodeMs: 0.7,
    requestMs: 142.7,
  },
  seed: 7,
  options: {
    label: 9,
    target: null,
    seed: 7,
    topK: 5,
    squeeze: { squeezers: [2, 3, 4].map((bits) => ({ kind: "bitDepth", bits })), threshold: null },
    randomization: { draws: 8, minSize: 28, maxSize: 31, canvas: 31, eot: false },
    fgsm: { eps: [0.1] },
    pgd: [{
      norm: "linf",
      eps: 0.1,
      steps: 10,
      randomStart: false,
      restarts: 1,
      loss: "ce",
      alpha: 0.025,
    }],
    minimalEpsilon: {
      low: 0,
      high: 0.5,
      bisectionSteps: 4,
      steps: 10,
      alphaFactor: 0.25,
      randomStart: false,
    },
    sweep: false,
    return: [],
  },
  image: { format: "png", width: 28, height: 28, bitDepth: 8, resized: false },
};

export const CALIBRATE_OPTIONS_EXAMPLE = { fpr: 0.05 };

export const CALIBRATION_RESULT_EXAMPLE = {
  threshold: 1.9383,
  targetFpr: 0.1,
  fpr: 0,
  count: 3,
  squeezers: ["bitDepth:1", "median:2"],
  calibratedAt: "2026-12-01T16:31:45.373Z",
  scores: { min: 0.0006, median: 0.007, max: 1.9383 },
};
