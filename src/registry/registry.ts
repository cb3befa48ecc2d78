import { join } from "node:path";
import type { InferenceEngine } from "../runtime/engine.ts";
import { loadClassifier, ModelSpecError, type OnnxClassifier } from "../runtime/onnx_classifier.ts";
import { parseManifest } from "./load_manifest.ts";
import type { ModelSummary, UploadedModels } from "./uploaded.ts";

export type { ModelSummary } from "./uploaded.ts";

export interface ModelFailure {
  /** The model folder that could not be loaded. */
  folder: string;
  error: string;
}

export interface Registry {
  /** The model's classifier (an uploaded one at `version`, default the current); undefined when unknown. */
  acquire(id: string, version?: number): Promise<OnnxClassifier | undefined>;
  /** Seeds, then the current version of every uploaded model. */
  list(): ModelSummary[];
  /** Every version of one model (a seed has one, with version null); empty when unknown. */
  versions(id: string): Promise<ModelSummary[]>;
  /** Models skipped at start-up, with the reason; the others load regardless. */
  readonly failures: readonly ModelFailure[];
  /** Models added over HTTP; absent when the registry serves seeds only. */
  readonly uploads?: UploadedModels;
  close(): Promise<void>;
}

export interface LoadRegistryOptions {
  dir: string;
  engine: InferenceEngine;
  /** Called once per model folder that fails, e.g. to log it. */
  onFailure?: (failure: ModelFailure) => void;
  /** Builds the uploaded-model side once the seed ids are known (they stay read-only). */
  uploads?: (isSeed: (id: string) => boolean) => Promise<UploadedModels>;
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
  const seedSummary = (m: OnnxClassifier): ModelSummary => ({
    manifest: m.manifest,
    sha256: m.sha256,
    backend: m.backend,
    maxBatch: m.maxBatch,
    gradientInfo: m.gradientInfo,
    gradientMode: m.gradientMode,
    source: "seed",
    version: null,
  });
  const uploads = await options.uploads?.((id) => models.has(id));
  return {
    async acquire(id, version) {
      const seed = models.get(id);
      if (seed) return version === undefined ? seed : undefined;
      return await uploads?.acquire(id, version);
    },
    list: () => [...[...models.values()].map(seedSummary), ...uploads?.list() ?? []],
    async versions(id) {
      const seed = models.get(id);
      if (seed) return [seedSummary(seed)];
      if (!uploads) return [];
      if (uploads.versions(id).length === 0) await uploads.refresh();
      return uploads.versions(id);
    },
    failures,
    uploads,
    async close() {
      await uploads?.close();
      await Promise.all([...models.values()].map((m) => m.release()));
    },
  };
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
