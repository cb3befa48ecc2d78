/**
 * Builtin datasets: folders under `datasets/` at the repository root (data, not code; beside
 * `models/`, whose every folder is read as a model), each laid out like an upload (here
 * `labels.csv` + `images/`), read through the same layout rules as an archive.
 */
import { DatasetError } from "./errors.ts";
import type { ArchiveEntry } from "./entries.ts";

export const BUILTIN_DATASETS_DIR = new URL("../../datasets/", import.meta.url);

/** The builtin dataset names (folder names under `datasets/`). */
export async function builtinDatasetNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(BUILTIN_DATASETS_DIR)) if (e.isDirectory) names.push(e.name);
  return names.sort();
}

async function walk(dir: URL, prefix: string, out: ArchiveEntry[]): Promise<void> {
  const children: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) children.push(e);
  children.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of children) {
    if (e.isDirectory) await walk(new URL(`${e.name}/`, dir), `${prefix}${e.name}/`, out);
    else if (e.isFile) {
      out.push({ name: prefix + e.name, kind: "file", bytes: await Deno.readFile(new URL(e.name, dir)) });
    }
  }
}

export async function readBuiltinEntries(name: string): Promise<ArchiveEntry[]> {
  const known = await builtinDatasetNames();
  if (!known.includes(name)) {
    throw new DatasetError(
      422,
      "unknown_dataset",
      "builtin",
      `no builtin dataset ${JSON.stringify(name)} (known: ${known.join(", ")})`,
    );
  }
  const out: ArchiveEntry[] = [];
  await walk(new URL(`${name}/`, BUILTIN_DATASETS_DIR), "", out);
  return out;
}
