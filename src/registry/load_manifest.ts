import type { Manifest } from "../model/manifest.ts";
import { ManifestSchema } from "./manifest.ts";

/** A manifest that failed to parse or validate; the message names the file and the field. */
export class ManifestError extends Error {}

/** Parses and validates manifest.json text; `file` is only used in error messages. */
export function parseManifest(text: string, file: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ManifestError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    throw new ManifestError(`${file}: ${issues.join("; ")}`);
  }
  return parsed.data;
}
