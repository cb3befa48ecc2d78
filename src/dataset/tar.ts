/**
 * tar and tar.gz archives through modern-tar's streaming decoder (strict: bad checksums and
 * truncation are errors). gzip is inflated with fflate's streaming `Gunzip`, 16 KiB pushes and
 * output counted against `maxInflatedBytes` as it is produced. Each entry's header is checked
 * (name, type, declared size against the remaining budget) before its body is read; links,
 * devices and FIFOs are refused.
 */
import { Gunzip } from "fflate";
import { createTarDecoder } from "modern-tar";
import { DatasetError, invalidDataset, limitError } from "./errors.ts";
import { type ArchiveEntry, concatChunks, InflatedBudget, PUSH_BYTES } from "./entries.ts";
import type { DatasetLimits } from "./limits.ts";
import { checkEntryName } from "./names.ts";

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** POSIX ustar / GNU tar magic at offset 257. */
export function isTar(bytes: Uint8Array): boolean {
  return bytes.length >= 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar";
}

export function gunzip(bytes: Uint8Array, budget: InflatedBudget): Uint8Array {
  const chunks: Uint8Array[] = [];
  let over = false;
  let ended = false;
  const stream = new Gunzip((data, final) => {
    if (over) return;
    if (!budget.take(data.length)) {
      over = true;
      return;
    }
    chunks.push(data);
    if (final) ended = true;
  });
  try {
    for (let offset = 0; offset < bytes.length && !over; offset += PUSH_BYTES) {
      const end = Math.min(bytes.length, offset + PUSH_BYTES);
      stream.push(bytes.subarray(offset, end), end === bytes.length);
    }
  } catch (error) {
    throw invalidDataset("corruptArchive", `gzip: ${(error as Error).message}`);
  }
  if (over) throw limitError("maxInflatedBytes", `the archive inflates to more than ${budget.limit} bytes`);
  if (!ended) throw invalidDataset("corruptArchive", "gzip: the stream is truncated");
  return concatChunks(chunks);
}

/** Reads a tar (or, when gzip-compressed, a tar.gz) archive. */
export async function readTar(bytes: Uint8Array, limits: DatasetLimits): Promise<ArchiveEntry[]> {
  const budget = new InflatedBudget(limits.maxInflatedBytes);
  const tar = isGzip(bytes) ? gunzip(bytes, budget) : bytes;
  if (!isTar(tar)) throw invalidDataset("notTar", "the data is neither a ZIP nor a ustar tar archive");
  // The tar's own bytes count once more as its entries are read out (a plain tar counts here).
  const bodies = new InflatedBudget(limits.maxInflatedBytes);
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(tar);
      controller.close();
    },
  });
  const entries: ArchiveEntry[] = [];
  try {
    for await (const entry of source.pipeThrough(createTarDecoder({ strict: true }))) {
      const { header } = entry;
      if (entries.length + 1 > limits.maxFiles) {
        await entry.body.cancel();
        throw limitError("maxFiles", `more than ${limits.maxFiles} entries in the archive`);
      }
      const type = header.type ?? "file";
      if (type !== "file" && type !== "directory") {
        await entry.body.cancel();
        const what = type === "symlink" || type === "link" ? "link" : "specialFile";
        throw invalidDataset(
          what,
          `entries of type ${type} are not allowed in a dataset archive`,
          JSON.stringify(header.name),
        );
      }
      if ((type === "file" && header.name.endsWith("/")) || (type === "directory" && header.size > 0)) {
        await entry.body.cancel();
        // A tar name is NUL-terminated: "Bag/\0x.png" arrives as "Bag/".
        throw invalidDataset(
          "unsafeName",
          "a file entry named like a folder, or a folder holding data",
          JSON.stringify(header.name),
        );
      }
      const name = checkEntryName(
        type === "directory" && !header.name.endsWith("/") ? header.name + "/" : header.name,
        limits.maxNameLength,
      );
      if (!bodies.take(header.size)) {
        await entry.body.cancel();
        throw limitError(
          "maxInflatedBytes",
          `the entries hold more than ${limits.maxInflatedBytes} bytes`,
          JSON.stringify(name),
        );
      }
      const data = new Uint8Array(await new Response(entry.body).arrayBuffer());
      entries.push({
        name,
        kind: type === "directory" ? "directory" : "file",
        bytes: type === "directory" ? new Uint8Array() : data,
      });
    }
  } catch (error) {
    if (error instanceof DatasetError) throw error;
    throw invalidDataset("corruptArchive", `tar: ${(error as Error).message}`);
  }
  return entries;
}
