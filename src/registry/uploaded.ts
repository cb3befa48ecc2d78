import { RequestError } from "../errors.ts";
import type { InferenceEngine } from "../runtime/engine.ts";
import { loadClassifier, type OnnxClassifier } from "../runtime/onnx_classifier.ts";
import {
  LabelSetConflictError,
  type ModelCatalog,
  ModelInUseError,
  type StoredModelVersion,
} from "../storage/models.ts";
import { parseManifest } from "./load_manifest.ts";
import type { Manifest } from "../model/manifest.ts";
import { startSubprocessProber } from "./probe_in_subprocess.ts";
import { type UploadInspection, validateUpload } from "./validate_upload.ts";

/** The validation report as stored with its version. */
export type StoredInspection = UploadInspection & { id: string; version: number };

/** What listing a model needs, without loading its session. */
export interface ModelSummary extends Pick<OnnxClassifier, "manifest" | "sha256" | "backend" | "maxBatch"> {
  readonly gradientInfo: OnnxClassifier["gradientInfo"];
  readonly gradientMode: OnnxClassifier["gradientMode"];
  /** Seeds come from ROBUSTCHECK_MODELS_DIR and are read-only; uploads live in the database. */
  readonly source: "seed" | "upload";
  /** Null for seeds. */
  readonly version: number | null;
}

export interface UploadedModels {
  /** The current (highest) version of every uploaded id. */
  list(): ModelSummary[];
  /** Every version of one id, oldest first (empty when unknown). */
  versions(id: string): ModelSummary[];
  /** A classifier whose session loads on first use and may be evicted (and reloaded) later. */
  acquire(id: string, version?: number): Promise<OnnxClassifier | undefined>;
  /** Validates (validate_upload.ts), then stores; aborting `signal` stops a validation that is running. */
  add(upload: { manifest: Manifest; modelBytes: Uint8Array; sha256: string; signal?: AbortSignal }): Promise<{
    summary: ModelSummary;
    inspection: StoredInspection;
  }>;
  remove(id: string, version: number): Promise<void>;
  inspection(id: string, version?: number): Promise<StoredInspection | undefined>;
  /** Re-reads the catalog (another process may have added or deleted versions). */
  refresh(): Promise<void>;
  close(): Promise<void>;
  /** The pid of the process uploads are validated in, while one runs (loadUploadsInSubprocess). */
  probePid(): number | undefined;
}

export interface UploadedModelsOptions {
  catalog: ModelCatalog;
  engine: InferenceEngine;
  /** At most this many uploaded versions keep sessions in memory; the least recently used go first. */
  maxLoaded: number;
  /**
   * How often to re-read the catalog besides the change notifications; 0 turns polling off
   * (refreshes still happen on a notification and on a miss).
   */
  pollMs: number;
  /** Ids that belong to read-only seed models. */
  isSeed(id: string): boolean;
  /** An upload's numerical gradient check still running after this long is stopped (validate_upload.ts). */
  gradientCheckTimeoutMs?: number;
  /** An upload's graph analysis still running after this long is stopped (validate_upload.ts). */
  analysisTimeoutMs?: number;
  /**
   * Load each upload, to validate it, in a process of its own (probe_in_subprocess.ts) that a time limit can kill,
   * instead of on the serving engine (validate_upload.ts).
   */
  loadUploadsInSubprocess?: boolean;
  /** Loading an upload to validate it still running after this long is stopped. */
  loadTimeoutMs?: number;
  /**
   * Starts the engine an upload's sessions live on while it is loaded (the server: a session Worker of its own),
   * closed when it is unloaded. Building an upload's sessions takes as long as its graph makes it (seconds for a
   * deep one), and a Worker runs one request at a time: on a Worker of its own that build never holds up other
   * models' runs. Without it, uploads share `engine`.
   */
  sessionEngine?: () => Promise<InferenceEngine>;
  log?: (line: string) => void;
}

interface Entry {
  stored: StoredModelVersion;
  summary: ModelSummary;
}

/** A loaded version: its classifier and the engine started for it alone (closed with it), if any. */
interface Loaded {
  classifier: OnnxClassifier;
  own?: InferenceEngine;
}

interface Slot {
  loaded: Promise<Loaded>;
  inFlight: number;
  retired: boolean;
}

/** Uploaded models: catalog in the database, sessions loaded lazily into a bounded LRU. */
export async function openUploadedModels(options: UploadedModelsOptions): Promise<UploadedModels> {
  const { catalog, engine } = options;
  const prober = options.loadUploadsInSubprocess
    ? startSubprocessProber({ backend: engine.backend, threads: engine.threads })
    : undefined;
  let entries = new Map<number, Entry>();
  /** Insertion order is recency order: a use moves the slot to the end. */
  const slots = new Map<number, Slot>();
  let refreshing: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  /** Validations run one at a time: each loads sessions and runs many forward passes. */
  let validating: Promise<unknown> = Promise.resolve();

  async function summarise(stored: StoredModelVersion): Promise<Entry> {
    const manifest = parseManifest(JSON.stringify(stored.manifest), `${stored.id}@${stored.version}`);
    const inspection = (await catalog.inspection(stored.id, stored.version)) as unknown as UploadInspection;
    const { check: _check, ...gradientInfo } = inspection.gradient;
    return {
      stored,
      summary: {
        manifest,
        sha256: stored.sha256,
        backend: engine.backend,
        maxBatch: inspection.maxBatch,
        gradientInfo,
        gradientMode: gradientInfo.mode,
        source: "upload",
        version: stored.version,
      },
    };
  }

  async function readCatalog(): Promise<void> {
    const next = new Map<number, Entry>();
    for (const stored of await catalog.list()) next.set(stored.key, entries.get(stored.key) ?? await summarise(stored));
    entries = next;
    for (const key of [...slots.keys()]) if (!entries.has(key)) retire(key);
  }

  /**
   * One catalog read at a time. A call made while a read runs waits for a new read after it
   * (the running one may have missed the change the caller knows about); waiting calls share it.
   */
  function refresh(): Promise<void> {
    if (!refreshing) {
      refreshing = readCatalog().finally(() => (refreshing = undefined));
      return refreshing;
    }
    queued ??= refreshing.catch(() => {}).then(() => {
      queued = undefined;
      return refresh();
    });
    return queued;
  }

  function refreshQuietly(): void {
    refresh().catch((error) => options.log?.(`model catalog refresh failed: ${error}`));
  }

  function retire(key: number): void {
    const slot = slots.get(key);
    if (!slot) return;
    slots.delete(key);
    slot.retired = true;
    if (slot.inFlight === 0) void releaseSlot(slot);
  }

  async function releaseSlot(slot: Slot): Promise<void> {
    const loaded = await slot.loaded.catch(() => undefined);
    if (!loaded) return;
    try {
      await loaded.classifier.release();
    } finally {
      loaded.own?.close();
    }
  }

  async function load(entry: Entry): Promise<Loaded> {
    const modelBytes = await catalog.read(entry.stored.sha256);
    const own = await options.sessionEngine?.();
    try {
      const { manifest } = entry.summary;
      return {
        classifier: await loadClassifier({ engine: own ?? engine, manifest, modelBytes, sha256: entry.stored.sha256 }),
        own,
      };
    } catch (error) {
      own?.close();
      throw error;
    }
  }

  function slotFor(entry: Entry): Slot {
    const key = entry.stored.key;
    let slot = slots.get(key);
    if (slot) {
      slots.delete(key);
    } else {
      if (!entries.has(key)) {
        throw new RequestError(
          404,
          "unknown_model",
          `model "${entry.stored.id}" version ${entry.stored.version} was deleted`,
        );
      }
      const loaded = load(entry);
      slot = { loaded, inFlight: 0, retired: false };
      // A failed load is not cached: the next use tries again.
      loaded.catch(() => slots.get(key) === slot && slots.delete(key));
    }
    slots.set(key, slot);
    while (slots.size > options.maxLoaded) retire(slots.keys().next().value!);
    return slot;
  }

  async function use<T>(entry: Entry, work: (classifier: OnnxClassifier) => Promise<T>): Promise<T> {
    const slot = slotFor(entry);
    slot.inFlight++;
    try {
      return await work((await slot.loaded).classifier);
    } finally {
      slot.inFlight--;
      if (slot.retired && slot.inFlight === 0) void releaseSlot(slot);
    }
  }

  /** A stable handle: the session behind it may be evicted between calls and is reloaded then. */
  function handle(entry: Entry): OnnxClassifier {
    const { summary } = entry;
    let info = summary.gradientInfo;
    return {
      manifest: summary.manifest,
      sha256: summary.sha256,
      backend: summary.backend,
      maxBatch: summary.maxBatch,
      get gradientInfo() {
        return info;
      },
      get gradientMode() {
        return info.mode;
      },
      get unsupportedOps() {
        return info.unsupported;
      },
      logits: (pixels, batch) => use(entry, (c) => c.logits(pixels, batch)),
      gradient: (pixels, batch, labels, loss) =>
        use(entry, async (c) => {
          const result = await c.gradient(pixels, batch, labels, loss);
          info = c.gradientInfo;
          return result;
        }),
      gradientAtPrediction: (pixels, batch, loss) => use(entry, (c) => c.gradientAtPrediction(pixels, batch, loss)),
      // Sessions belong to the LRU, not to whoever acquired the handle.
      release: () => Promise.resolve(),
    };
  }

  function find(id: string, version?: number): Entry | undefined {
    const matching = [...entries.values()].filter((e) => e.stored.id === id);
    if (version === undefined) return matching.at(-1);
    return matching.find((e) => e.stored.version === version);
  }

  await refresh();
  await catalog.watch(refreshQuietly);
  const timer = options.pollMs > 0 ? setInterval(refreshQuietly, options.pollMs) : undefined;
  if (timer !== undefined) Deno.unrefTimer(timer);

  return {
    list: () => {
      const current = new Map<string, ModelSummary>();
      for (const entry of entries.values()) current.set(entry.stored.id, entry.summary);
      return [...current.values()];
    },
    versions: (id) => [...entries.values()].filter((e) => e.stored.id === id).map((e) => e.summary),
    async acquire(id, version) {
      let entry = find(id, version);
      if (!entry) {
        await refresh();
        entry = find(id, version);
      }
      if (!entry) return undefined;
      await use(entry, async () => {});
      return handle(entry);
    },
    async add({ manifest, modelBytes, sha256, signal }) {
      const id = manifest.id;
      if (options.isSeed(id)) {
        throw new RequestError(409, "read_only_model", `model "${id}" is a read-only seed from the models directory`);
      }
      await refresh();
      const existing = find(id);
      if (existing && JSON.stringify(existing.summary.manifest.labels) !== JSON.stringify(manifest.labels)) {
        throw new RequestError(
          409,
          "label_set_conflict",
          `labels: model "${id}" already exists with other labels; a new version must keep them`,
        );
      }
      const validation = validating.then(() =>
        validateUpload({
          engine,
          manifest,
          modelBytes,
          sha256,
          signal,
          gradientCheckTimeoutMs: options.gradientCheckTimeoutMs,
          analysisTimeoutMs: options.analysisTimeoutMs,
          prober,
          loadTimeoutMs: options.loadTimeoutMs,
        })
      );
      validating = validation.catch(() => {});
      const inspection = await validation;
      const stored = await catalog.add({
        id,
        labels: manifest.labels,
        sha256,
        modelBytes,
        manifest: manifest as unknown as Record<string, unknown>,
        inspection: (version) => ({ id, version, ...inspection }),
      }).catch((error) => {
        if (error instanceof LabelSetConflictError) throw new RequestError(409, "label_set_conflict", error.message);
        throw error;
      });
      await refresh();
      // Deleted again already by another client: describe it as stored.
      const { summary } = entries.get(stored.key) ?? await summarise(stored);
      return { summary, inspection: { id, version: stored.version, ...inspection } };
    },
    async remove(id, version) {
      if (options.isSeed(id)) {
        throw new RequestError(409, "read_only_model", `model "${id}" is a read-only seed from the models directory`);
      }
      const removed = await catalog.remove(id, version).catch((error) => {
        if (error instanceof ModelInUseError) throw new RequestError(409, "model_in_use", error.message);
        throw error;
      });
      if (!removed) {
        throw new RequestError(404, "unknown_model", `no model "${id}" with version ${version}`);
      }
      await refresh();
    },
    async inspection(id, version) {
      const entry = find(id, version) ?? (await refresh(), find(id, version));
      if (!entry) return undefined;
      return (await catalog.inspection(id, entry.stored.version)) as unknown as StoredInspection | undefined;
    },
    refresh,
    async close() {
      clearInterval(timer);
      await (queued ?? refreshing)?.catch(() => {});
      const open = [...slots.values()];
      slots.clear();
      await Promise.all(open.map(releaseSlot));
      await prober?.close();
    },
    probePid: () => prober?.pid(),
  };
}
