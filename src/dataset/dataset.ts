/**
 * A labelled image set from (a) a ZIP, tar or tar.gz archive, (b) a JSON list
 * `[{image: base64, label, name?}]`, or (c) a builtin folder under `datasets/`. Everything that
 * can be checked without decoding pixels is checked here, before any work starts (a
 * `DatasetError`, 4xx, naming the limit or the entry): sizes, entry count, names, links,
 * duplicates, labels, and each image's width × height read from its header (per image and in
 * total). An entry whose header cannot be read (not PNG/JPEG, or corrupt) does not stop the
 * dataset: it becomes an image with an `error`, which the audit reports as a per-image error row.
 *
 * Images are sorted by name (JavaScript string order, i.e. UTF-16 code units); image i of an
 * audit is the i-th of this list (after an optional subsample, which keeps the order).
 */
import { imageSize } from "image-size";
import { decodeBase64 } from "../intake/read_body.ts";
import { readBuiltinEntries } from "./builtin.ts";
import type { ArchiveEntry } from "./entries.ts";
import { DatasetError, invalidDataset, limitError } from "./errors.ts";
import { resolveLabel } from "./labels.ts";
import { labelEntries, type LabelledEntry } from "./layout.ts";
import { type DatasetLimits, DEFAULT_DATASET_LIMITS } from "./limits.ts";
import { checkEntryName } from "./names.ts";
import { isGzip, isTar, readTar } from "./tar.ts";
import { datasetSha256, sha256Hex } from "./sha256.ts";
import { isZip, readZip } from "./zip.ts";

export type DatasetInput =
  | { kind: "archive"; bytes: Uint8Array }
  | { kind: "json"; value: unknown }
  | { kind: "builtin"; name: string };

export interface ImageProblem {
  code: "unsupported_image_format" | "undecodable_image";
  message: string;
}

export interface DatasetImage {
  name: string;
  /** Class index of the model. */
  label: number;
  /** SHA-256 (hex) of the image file's bytes. */
  sha256: string;
  bytes: Uint8Array;
  /** From the header; null when the header could not be read. */
  source: { format: "png" | "jpeg"; width: number; height: number } | null;
  /** Set when the entry is not a readable PNG/JPEG: a per-image error row, not a dataset error. */
  error: ImageProblem | null;
}

export interface Dataset {
  format: "zip" | "tar" | "tar.gz" | "json" | "builtin";
  layout: "labels.csv" | "image-folder" | "json";
  images: DatasetImage[];
  /** See sha256.ts for the definition. */
  sha256: string;
  /** Images per class index (errors included). */
  counts: number[];
  /** Entries that are not images of the dataset. */
  ignored: string[];
}

function sniff(bytes: Uint8Array): "png" | "jpeg" | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return "png";
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  return null;
}

function jsonEntries(value: unknown, classNames: readonly string[], limits: DatasetLimits): LabelledEntry[] {
  if (!Array.isArray(value)) throw invalidDataset("invalidJson", "a JSON dataset is a list of {image, label} objects");
  if (value.length > limits.maxFiles) {
    throw limitError("maxFiles", `${value.length} items; the limit is ${limits.maxFiles}`);
  }
  if (value.length === 0) throw invalidDataset("emptyDataset", "the list is empty");
  const width = Math.max(6, String(value.length - 1).length);
  let total = 0;
  const names = new Set<string>();
  return value.map((item, i) => {
    const at = `[${i}]`;
    if (typeof item !== "object" || item === null) {
      throw invalidDataset("invalidJson", "an item must be an object {image, label}", at);
    }
    const { image, label, name } = item as Record<string, unknown>;
    if (typeof image !== "string") throw invalidDataset("invalidJson", "`image` must be a base64 string", at);
    if (typeof label !== "string" && typeof label !== "number") {
      throw invalidDataset("invalidJson", "`label` must be a class name or index", at);
    }
    if (name !== undefined && typeof name !== "string") {
      throw invalidDataset("invalidJson", "`name` must be a string", at);
    }
    const checked = name === undefined ? String(i).padStart(width, "0") : checkEntryName(name, limits.maxNameLength);
    if (names.has(checked)) throw invalidDataset("duplicateName", "two items have this name", JSON.stringify(checked));
    names.add(checked);
    const index = resolveLabel(label, classNames);
    if (index === null) {
      throw invalidDataset(
        "unknownLabel",
        `label ${JSON.stringify(label)} is not one of the model's classes nor a class index 0..${
          classNames.length - 1
        }`,
        at,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = decodeBase64(image);
    } catch {
      throw invalidDataset("invalidBase64", "`image` is not valid base64", at);
    }
    total += bytes.length;
    if (total > limits.maxInflatedBytes) {
      throw limitError("maxInflatedBytes", `the images hold more than ${limits.maxInflatedBytes} bytes`);
    }
    return { name: checked, label: index, bytes };
  });
}

async function archiveEntries(
  bytes: Uint8Array,
  limits: DatasetLimits,
): Promise<{ entries: ArchiveEntry[]; format: Dataset["format"] }> {
  if (bytes.length > limits.maxArchiveBytes) {
    throw limitError(
      "maxArchiveBytes",
      `the archive has ${bytes.length} bytes; the limit is ${limits.maxArchiveBytes}`,
    );
  }
  if (isZip(bytes)) return { entries: readZip(bytes, limits), format: "zip" };
  if (isGzip(bytes)) return { entries: await readTar(bytes, limits), format: "tar.gz" };
  if (isTar(bytes)) return { entries: await readTar(bytes, limits), format: "tar" };
  throw new DatasetError(415, "unsupported_archive", "archiveFormat", "the archive is not ZIP, tar or tar.gz");
}

/** Reads and checks a dataset against the model's class names; throws `DatasetError` (4xx) up front. */
export async function readDataset(
  input: DatasetInput,
  classNames: readonly string[],
  limits: DatasetLimits = DEFAULT_DATASET_LIMITS,
): Promise<Dataset> {
  let labelled: LabelledEntry[];
  let ignored: string[] = [];
  let format: Dataset["format"];
  let layout: Dataset["layout"];
  if (input.kind === "json") {
    labelled = jsonEntries(input.value, classNames, limits);
    format = "json";
    layout = "json";
  } else {
    const read = input.kind === "archive"
      ? await archiveEntries(input.bytes, limits)
      : { entries: await readBuiltinEntries(input.name), format: "builtin" as const };
    const l = labelEntries(read.entries, classNames, limits.maxNameLength);
    ({ entries: labelled, ignored, kind: layout } = l);
    format = read.format;
  }

  let totalPixels = 0;
  const images: DatasetImage[] = [];
  for (const e of labelled) {
    const format = sniff(e.bytes);
    let source: DatasetImage["source"] = null;
    let error: ImageProblem | null = null;
    if (format === null) error = { code: "unsupported_image_format", message: "not a PNG or JPEG file" };
    else {
      try {
        const size = imageSize(e.bytes);
        if (!size.width || !size.height) throw new Error("no pixels");
        source = { format, width: size.width, height: size.height };
      } catch {
        error = { code: "undecodable_image", message: `the ${format.toUpperCase()} header could not be read` };
      }
    }
    if (source) {
      const pixels = source.width * source.height;
      if (pixels > limits.maxImagePixels) {
        throw limitError(
          "maxImagePixels",
          `${source.width}×${source.height} = ${pixels} pixels; the limit is ${limits.maxImagePixels}`,
          JSON.stringify(e.name),
        );
      }
      totalPixels += pixels;
      if (totalPixels > limits.maxTotalPixels) {
        throw limitError("maxTotalPixels", `the images hold more than ${limits.maxTotalPixels} pixels in total`);
      }
    }
    images.push({ name: e.name, label: e.label, sha256: await sha256Hex(e.bytes), bytes: e.bytes, source, error });
  }
  images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const counts = new Array(classNames.length).fill(0);
  for (const image of images) counts[image.label]++;
  return { format, layout, images, sha256: await datasetSha256(images), counts, ignored };
}
