/**
 * Bounds on one dataset, all checked while reading it and before any image is decoded or
 * attacked. Pixel counts are width × height read from each image header.
 */
export interface DatasetLimits {
  /** Bytes of the archive or JSON document as uploaded. */
  maxArchiveBytes: number;
  /** Bytes after decompression, summed over every entry (counted while inflating). */
  maxInflatedBytes: number;
  /** Entries in the archive (files, folders and links alike) or items in a JSON list. */
  maxFiles: number;
  /** Pixels of one image. */
  maxImagePixels: number;
  /** Pixels summed over all images. */
  maxTotalPixels: number;
  /** Characters of one entry name (the whole path inside the archive). */
  maxNameLength: number;
}

export const DEFAULT_DATASET_LIMITS: DatasetLimits = {
  maxArchiveBytes: 100_000_000,
  maxInflatedBytes: 256 * 1024 * 1024,
  maxFiles: 20_000,
  maxImagePixels: 16_000_000,
  maxTotalPixels: 200_000_000,
  maxNameLength: 255,
};
