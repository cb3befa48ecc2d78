/**
 * Archive entry names, checked before anything is read from an entry. No archive library
 * sanitises names, so this module refuses what could escape a folder or alias another entry:
 * absolute paths (`/x`, `\x`, `C:/x`, `C:\x`), any `..` component (with `/` or `\` separators),
 * backslashes at all (a Windows separator in a POSIX name is either an attack or a mistake),
 * NUL and other control characters, and names longer than `maxNameLength`. `./` components are
 * dropped and the result is NFC-normalised, so `a/./b.png` and `a/b.png` are the same entry
 * (and refused as duplicates by the caller).
 */
import { invalidDataset, limitError } from "./errors.ts";

/** Folders and files archivers add on their own, never part of a dataset. */
export function isArchiverJunk(name: string): boolean {
  return name.split("/").some((part) => part === "__MACOSX" || part.startsWith("."));
}

/** The checked, normalised entry name; a trailing `/` (folder entry) is kept. */
export function checkEntryName(raw: string, maxNameLength: number): string {
  if (raw.length > maxNameLength) {
    throw limitError(
      "maxNameLength",
      `the name has ${raw.length} characters; the limit is ${maxNameLength}`,
      raw.slice(0, 80),
    );
  }
  const unsafe = (why: string) => invalidDataset("unsafeName", why, JSON.stringify(raw));
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw unsafe("control characters in an entry name");
  if (raw.includes("\\")) throw unsafe("backslashes are not allowed in entry names");
  if (raw.startsWith("/")) throw unsafe("absolute paths are not allowed");
  if (/^[A-Za-z]:/.test(raw)) throw unsafe("drive-letter paths are not allowed");
  const parts = raw.normalize("NFC").split("/");
  if (parts.some((p) => p === "..")) throw unsafe("`..` components are not allowed");
  const folder = raw.endsWith("/");
  const kept = parts.filter((p) => p !== "" && p !== ".");
  if (kept.length === 0) throw unsafe("the name is empty");
  return kept.join("/") + (folder ? "/" : "");
}
