/** Runs one probe as the pipeline does, on an in-memory linear softmax model: no ONNX, no port. */
import type { z } from "zod";
import { randomLinearSoftmax } from "../../../attacks/testdata/linear_softmax.ts";
import type { Probe, ProbeContext } from "../../probe.ts";

export const classifier = randomLinearSoftmax({ seed: 5, classes: 3, channels: 1, height: 6, width: 6, scale: 3 });
export const model = { manifest: classifier.manifest, gradientMode: "exact" as const };
const shape = { channels: 1, height: 6, width: 6 };
const pixels = Float32Array.from({ length: 36 }, (_, i) => (i % 7) / 7);
const timed = async <T>(_stage: string, work: () => T | Promise<T>) => await work();

/** Its screening rows through the model, then its run step; the section must match its schema. */
export async function runProbe<S, R>(probe: Probe<string, z.ZodType, S, R>, settings: S) {
  const clean = await classifier.logits(pixels, 1);
  const gradient = probe.cleanGradient ? await classifier.gradientAtPrediction(pixels, 1, "ce") : undefined;
  const cleanGradient = gradient && { result: gradient, label: gradient.labels[0] };
  const rows = probe.screening
    ? await probe.screening(settings, { classifier, pixels, shape, seed: 1, clean: cleanGradient }, timed)
    : new Float32Array();
  const screeningLogits = rows.length ? await classifier.logits(rows, rows.length / pixels.length) : new Float32Array();
  const predicted = clean.indexOf(Math.max(...clean));
  const context: ProbeContext = {
    classifier,
    pixels,
    shape,
    seed: 1,
    label: predicted,
    targets: undefined,
    predicted,
    cleanLogits: clean,
    screeningLogits,
    clean: cleanGradient,
    squeezeThreshold: { value: 0.01, source: "request" },
    timed,
  };
  const outcome = await probe.run(settings, context);
  probe.section.parse(outcome.section);
  return { ...outcome, verdict: probe.verdict(outcome.section, classifier.manifest.labels), predicted };
}
