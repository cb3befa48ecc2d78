/** Every attack loop checks its AbortSignal before each batch: once aborted, no further batch is sent. */
import assert from "node:assert/strict";
import type { Classifier } from "../model/classifier.ts";
import { eotPgd } from "./eot_pgd.ts";
import { fgsm } from "./fgsm.ts";
import { minimalEpsilon } from "./minimal_epsilon.ts";
import { pgd } from "./pgd.ts";
import { randomLinearSoftmax } from "./testdata/linear_softmax.ts";

const base = randomLinearSoftmax({ seed: 3, classes: 3, channels: 1, height: 6, width: 6, scale: 0.01 });
const pixels = Float32Array.from({ length: 36 }, (_, i) => (i % 5) / 5);
const label = [0];

/** The classifier, counting batches, aborting `controller` when the `abortAt`-th batch is sent. */
function counting(abortAt: number) {
  const controller = new AbortController();
  let batches = 0;
  const tick = () => {
    if (++batches === abortAt) controller.abort(new Error("cancelled"));
  };
  const classifier: Classifier = {
    ...base,
    logits: (p, n) => (tick(), base.logits(p, n)),
    gradient: (p, n, l, loss) => (tick(), base.gradient(p, n, l, loss)),
  };
  return { classifier, signal: controller.signal, batches: () => batches };
}

Deno.test("attacks: an aborted signal stops PGD, minimal ε, EoT-PGD and FGSM before their next batch", async (t) => {
  const attacks = {
    pgd: (c: Classifier, signal: AbortSignal) =>
      pgd(c, pixels, {
        norm: "linf",
        eps: 1e-6,
        alpha: 1e-7,
        steps: 500,
        randomStart: false,
        restarts: 1,
        loss: "ce",
        seed: 1,
        labels: label,
        signal,
      }),
    minimalEpsilon: (c: Classifier, signal: AbortSignal) =>
      minimalEpsilon(c, pixels, {
        labels: label,
        low: 0,
        high: 1e-6,
        bisectionSteps: 10,
        steps: 50,
        alphaFactor: 0.1,
        randomStart: false,
        seed: 1,
        signal,
      }),
    eotPgd: (c: Classifier, signal: AbortSignal) =>
      eotPgd(c, pixels, {
        norm: "linf",
        eps: 1e-6,
        alpha: 1e-7,
        steps: 500,
        randomStart: false,
        loss: "ce",
        seed: 1,
        labels: label,
        samples: 2,
        evalDraws: 2,
        transform: { minSize: 5, maxSize: 6, canvas: 6 },
        signal,
      }),
    fgsm: (c: Classifier, signal: AbortSignal) => fgsm(c, pixels, { labels: label, eps: [0.1], signal }),
  };
  for (const [name, run] of Object.entries(attacks)) {
    await t.step(name, async () => {
      const { classifier, signal, batches } = counting(1);
      await assert.rejects(run(classifier, signal), /cancelled/);
      assert.equal(batches(), 1, "the batch in flight when the signal aborted was the last");
    });
  }
});
