/**
 * Archive entries → labelled images.
 * - If the archive's entries all sit under one top-level folder that is not a class name and
 *   holds folders or a labels.csv, that folder is stripped first (archives of a folder usually
 *   look like that).
 * - `labels.csv` at the root takes precedence: rows `file,label` (an optional first row
 *   `file,label` is a header), `file` relative to the root, `label` a class name or index
 *   (labels.ts). Only listed files are images; other files are ignored and listed.
 * - Otherwise ImageFolder: `<label>/<file>` (deeper paths keep the first folder as the label);
 *   files at the root and archiver junk (`__MACOSX/`, dot-files) are ignored and listed.
 * Up-front errors (422 `invalid_dataset`, naming the entry): duplicate names, an unknown label, a
 * CSV row naming a missing file or a file twice, a malformed CSV, no image at all.
 */
import { parse } from "csv-parse/sync";
import type { ArchiveEntry } from "./entries.ts";
import { invalidDataset } from "./errors.ts";
import { resolveLabel } from "./labels.ts";
import { checkEntryName, isArchiverJunk } from "./names.ts";

export interface LabelledEntry {
  name: string;
  label: number;
  bytes: Uint8Array;
}

export interface Layout {
  kind: "labels.csv" | "image-folder";
  entries: LabelledEntry[];
  /** Files that are not images of the dataset (archiver junk, root files, files not in labels.csv). */
  ignored: string[];
}

function unknownLabel(value: string, classNames: readonly string[], entry: string) {
  return invalidDataset(
    "unknownLabel",
    `label ${JSON.stringify(value)} is not one of the model's classes (${
      classNames.map((n) => JSON.stringify(n)).join(", ")
    }) nor a class index 0..${classNames.length - 1}`,
    entry,
  );
}

/** Drops a single wrapping folder that is not itself a class. */
function stripWrapper(files: ArchiveEntry[], classNames: readonly string[]): ArchiveEntry[] {
  const tops = new Set(files.map((f) => f.name.split("/")[0]));
  if (tops.size !== 1 || files.some((f) => !f.name.includes("/"))) return files;
  const [top] = tops;
  if (resolveLabel(top, classNames) !== null) return files;
  const inner = files.map((f) => ({ ...f, name: f.name.slice(top.length + 1) }));
  // Only a wrapper if what it wraps has the layout of a dataset (folders or labels.csv).
  const layoutInside = inner.some((f) => f.name === "labels.csv") || inner.every((f) => f.name.includes("/"));
  return layoutInside ? inner : files;
}

export function labelEntries(all: ArchiveEntry[], classNames: readonly string[], maxNameLength: number): Layout {
  const seen = new Set<string>();
  for (const e of all) {
    const key = e.name.replace(/\/$/, "");
    if (seen.has(key)) throw invalidDataset("duplicateName", "two entries have this name", JSON.stringify(e.name));
    seen.add(key);
  }
  const ignored: string[] = [];
  const files = stripWrapper(
    all.filter((e) => {
      if (e.kind !== "file") return false;
      if (isArchiverJunk(e.name)) ignored.push(e.name);
      return !isArchiverJunk(e.name);
    }),
    classNames,
  );
  const csv = files.find((f) => f.name === "labels.csv");
  const entries: LabelledEntry[] = [];
  let kind: Layout["kind"];
  if (csv) {
    kind = "labels.csv";
    let rows: string[][];
    try {
      rows = parse(new TextDecoder("utf-8", { fatal: true }).decode(csv.bytes), {
        bom: true,
        skip_empty_lines: true,
        trim: true,
        relax_column_count: false,
      }) as string[][];
    } catch (error) {
      throw invalidDataset("invalidLabelsCsv", (error as Error).message, "labels.csv");
    }
    if (rows.length > 0 && rows[0][0]?.toLowerCase() === "file" && rows[0][1]?.toLowerCase() === "label") rows.shift();
    const byName = new Map(files.map((f) => [f.name, f]));
    const listed = new Set<string>(["labels.csv"]);
    rows.forEach((row, i) => {
      if (row.length !== 2) {
        throw invalidDataset("invalidLabelsCsv", `row ${i + 1} needs two columns: file,label`, "labels.csv");
      }
      const name = checkEntryName(row[0], maxNameLength);
      const file = byName.get(name);
      if (!file) {
        throw invalidDataset("missingEntry", "labels.csv names a file the archive does not hold", JSON.stringify(name));
      }
      if (listed.has(name)) {
        throw invalidDataset("duplicateName", "labels.csv lists this file twice", JSON.stringify(name));
      }
      listed.add(name);
      const label = resolveLabel(row[1], classNames);
      if (label === null) throw unknownLabel(row[1], classNames, JSON.stringify(name));
      entries.push({ name, label, bytes: file.bytes });
    });
    for (const f of files) if (!listed.has(f.name)) ignored.push(f.name);
  } else {
    kind = "image-folder";
    for (const f of files) {
      const slash = f.name.indexOf("/");
      if (slash < 0) {
        ignored.push(f.name);
        continue;
      }
      const folder = f.name.slice(0, slash);
      const label = resolveLabel(folder, classNames);
      if (label === null) throw unknownLabel(folder, classNames, JSON.stringify(f.name));
      entries.push({ name: f.name, label, bytes: f.bytes });
    }
  }
  if (entries.length === 0) {
    throw invalidDataset(
      "emptyDataset",
      kind === "labels.csv" ? "labels.csv lists no image" : "no `<label>/<file>` entry and no labels.csv",
    );
  }
  return { kind, entries, ignored: ignored.sort() };
}
