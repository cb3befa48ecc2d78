/**
 * ZIP archives through fflate's streaming `Unzip`. Header sizes are not trusted (they are 0 with
 * data descriptors and can be forged): inflated bytes are counted in `ondata` and the entry is
 * terminated as soon as the running total passes `maxInflatedBytes`, with the input pushed
 * 16 KiB at a time so one push cannot expand unboundedly. Symbolic links are found in the
 * central directory (Unix mode S_IFLNK in the external attributes; local headers do not carry
 * it) and refused before anything is inflated.
 */
import { Unzip, type UnzipFile, UnzipInflate } from "fflate";
import { DatasetError, invalidDataset, limitError } from "./errors.ts";
import { type ArchiveEntry, concatChunks, InflatedBudget, PUSH_BYTES } from "./entries.ts";
import type { DatasetLimits } from "./limits.ts";
import { checkEntryName } from "./names.ts";

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b &&
    ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));
}

/** Names of central-directory entries whose Unix mode is a symbolic link (empty when no directory is found). */
export function zipSymlinks(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // End of central directory: signature 0x06054b50 within the last 22 + 65535 bytes.
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return [];
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  const links: string[] = [];
  for (let k = 0; k < count && p + 46 <= bytes.length; k++) {
    if (view.getUint32(p, true) !== 0x02014b50) break;
    const madeBy = view.getUint8(p + 5);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const mode = view.getUint32(p + 38, true) >>> 16;
    if (madeBy === 3 && (mode & 0o170000) === 0o120000) {
      links.push(new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength)));
    }
    p += 46 + nameLength + extraLength + commentLength;
  }
  return links;
}

export function readZip(bytes: Uint8Array, limits: DatasetLimits): ArchiveEntry[] {
  const links = zipSymlinks(bytes);
  if (links.length > 0) {
    throw invalidDataset("link", "symbolic links are not allowed in a dataset archive", JSON.stringify(links[0]));
  }
  const budget = new InflatedBudget(limits.maxInflatedBytes);
  const entries: ArchiveEntry[] = [];
  let failure: Error | null = null;
  let seen = 0;
  /** Entries started and not yet complete: left over at the end means a truncated archive. */
  const open = new Set<string>();
  const unzip = new Unzip((file: UnzipFile) => {
    if (failure) return file.terminate();
    try {
      if (++seen > limits.maxFiles) {
        throw limitError("maxFiles", `more than ${limits.maxFiles} entries in the archive`);
      }
      const name = checkEntryName(file.name, limits.maxNameLength);
      const chunks: Uint8Array[] = [];
      open.add(name);
      file.ondata = (error, data, final) => {
        if (failure) return;
        if (error) {
          failure = invalidDataset("corruptArchive", error.message, JSON.stringify(name));
          return;
        }
        if (!budget.take(data.length)) {
          file.terminate();
          failure = limitError(
            "maxInflatedBytes",
            `the archive inflates to more than ${limits.maxInflatedBytes} bytes`,
          );
          return;
        }
        chunks.push(data);
        if (final) {
          open.delete(name);
          entries.push({ name, kind: name.endsWith("/") ? "directory" : "file", bytes: concatChunks(chunks) });
        }
      };
      try {
        file.start();
      } catch {
        throw invalidDataset(
          "unsupportedCompression",
          `compression method ${file.compression} is not supported (use deflate or store)`,
          JSON.stringify(name),
        );
      }
    } catch (error) {
      file.terminate();
      failure = error as Error;
    }
  });
  unzip.register(UnzipInflate);
  try {
    for (let offset = 0; offset < bytes.length && !failure; offset += PUSH_BYTES) {
      const end = Math.min(bytes.length, offset + PUSH_BYTES);
      unzip.push(bytes.subarray(offset, end), end === bytes.length);
    }
  } catch (error) {
    if (!failure) failure = invalidDataset("corruptArchive", (error as Error).message);
  }
  if (failure) {
    throw failure instanceof DatasetError ? failure : invalidDataset("corruptArchive", (failure as Error).message);
  }
  if (open.size > 0) {
    throw invalidDataset("corruptArchive", "the archive ends inside this entry", JSON.stringify([...open][0]));
  }
  return entries;
}
