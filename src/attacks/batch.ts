/** Validation shared by the attacks: pixels are a batch of images, one label (and target) each. */
import type { Classifier } from "../model/classifier.ts";

export interface ImageBatch {
  images: number;
  /** Values per image: C·H·W at the model's input size. */
  size: number;
  classes: number;
  labels: Int32Array;
  /** Null when the attack is untargeted. */
  targets: Int32Array | null;
}

function classIndices(
  name: string,
  values: ArrayLike<number>,
  classes: number,
): Int32Array {
  const out = Int32Array.from(values);
  out.forEach((v, i) => {
    if (v !== values[i] || v < 0 || v >= classes) {
      throw new RangeError(`${name}[${i}] must be an integer class index in [0, ${classes})`);
    }
  });
  return out;
}

/**
 * Checks `pixels` is `labels.length` NCHW images at the classifier's input size and that labels
 * and targets are class indices; a target equal to its label is refused (nothing to attack).
 */
export function imageBatch(
  classifier: Classifier,
  pixels: Float32Array,
  labels: ArrayLike<number>,
  targets?: ArrayLike<number>,
): ImageBatch {
  const { channels, height, width } = classifier.manifest.input;
  const size = channels * height * width;
  const classes = classifier.manifest.labels.length;
  const images = labels.length;
  if (images === 0) throw new RangeError("at least one image is needed");
  if (pixels.length !== images * size) {
    throw new RangeError(
      `pixels must be [${images}, ${channels}, ${height}, ${width}] (${images * size} values), got ${pixels.length}`,
    );
  }
  const y = classIndices("labels", labels, classes);
  let t: Int32Array | null = null;
  if (targets !== undefined) {
    if (targets.length !== images) throw new RangeError("one target per image is needed");
    t = classIndices("targets", targets, classes);
    t.forEach((v, i) => {
      if (v === y[i]) throw new RangeError(`targets[${i}] equals its label`);
    });
  }
  return { images, size, classes, labels: y, targets: t };
}

/** Throws unless `value` is a finite number ≥ 0 (or an integer ≥ `min` when `integer`). */
export function checkNumber(
  name: string,
  value: number,
  { integer = false, min = 0 }: { integer?: boolean; min?: number } = {},
): void {
  if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
    throw new RangeError(`${name} must be ${integer ? "an integer" : "a finite number"} ≥ ${min}`);
  }
}
