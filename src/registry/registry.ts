import { join } from "node:path";
import type { InferenceEngine } from "../runtime/engine.ts";
import { loadClassifier, ModelSpecError, type OnnxClassifier } from "../runtime/onnx_classifier.ts";
import { parseManifest } from "./load_manifest.ts";

export interface ModelFailure {
  /** The model folder that could not be loaded. */
  folder: string;
  error: string;
}

export interface Registry {
  get(id: string): OnnxClassifier | undefined;
  list(): OnnxClassifier[];
  /** Models skipped at start-up, with the reason; the others load regardless. */
  readonly failures: readonly ModelFailure[];
  close(): Promise<void>;
}

export interface LoadRegistryOptions {
  dir: string;
  engine: InferenceEngine;
  /** Called once per model folder that fails, e.g. to log it. */
  onFailure?: (failure: ModelFailure) => void;
}

/** Loads every `<dir>/<folder>/{model.onnx, manifest.json}`; a broken folder affects no other. */
export async function loadRegistry(options: LoadRegistryOptions): Promise<Registry> {
  const { dir, engine } = options;
  const models = new Map<string, OnnxClassifier>();
  const failures: ModelFailure[] = [];
  const folders: string[] = [];
  for await (const entry of Deno.readDir(dir)) if (entry.isDirectory) folders.push(entry.name);
  folders.sort();
  for (const folder of folders) {
    const manifestFile = join(dir, folder, "manifest.json");
    try {
      const manifest = parseManifest(await Deno.readTextFile(manifestFile), manifestFile);
      if (models.has(manifest.id)) {
        throw new Error(`${manifestFile}: id: "${manifest.id}" is already used by another model`);
      }
      const modelBytes = await Deno.readFile(join(dir, folder, "model.onnx"));
      const classifier = await loadClassifier({ engine, manifest, modelBytes, sha256: await sha256Hex(modelBytes) });
      models.set(manifest.id, classifier);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const failure = {
        folder: join(dir, folder),
        error: error instanceof ModelSpecError ? `${manifestFile}: ${message}` : message,
      };
      failures.push(failure);
      options.onFailure?.(failure);
    }
  }
  return {
    get: (id) => models.get(id),
    list: () => [...models.values()],
    failures,
    async close() {
      await Promise.all([...models.values()].map((m) => m.release()));
    },
  };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
