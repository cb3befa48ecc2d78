/** What the archive readers produce: every entry with a checked name, file bodies read in full. */
export interface ArchiveEntry {
  /** Checked and normalised (names.ts); folders end with `/`. */
  name: string;
  kind: "file" | "directory";
  /** Empty for folders. */
  bytes: Uint8Array;
}

/** Counts bytes as they are produced and refuses to go past the limit. */
export class InflatedBudget {
  #used = 0;
  constructor(readonly limit: number) {}
  get used(): number {
    return this.#used;
  }
  /** False once the total would exceed the limit (the caller stops and reports `maxInflatedBytes`). */
  take(bytes: number): boolean {
    this.#used += bytes;
    return this.#used <= this.limit;
  }
}

/** Joins chunks into one array. */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Input is pushed to streaming decompressors in slices this big: one push can expand ~1000×. */
export const PUSH_BYTES = 16 * 1024;
