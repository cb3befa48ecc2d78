/**
 * The audit service: creates audits (everything checked before any work: model, dataset limits,
 * plan limits), runs their shards as jobs, and derives status, progress, ETA and the report from
 * the rows in the database (src/storage/audits.ts), never from memory, so any number of worker
 * processes on one PostgreSQL see the same audit.
 *
 * A shard job: load the audit and model (pinned sha256), read the dataset (cached per process),
 * decode the shard's images, run the shard (src/audit/shard.ts) with an AbortSignal that fires
 * when the audit is cancelled (checked between stages, i.e. at batch boundaries), and write its
 * row with ON CONFLICT DO NOTHING.
 */
import {
  buildReport,
  checkPlanLimits,
  DEFAULT_AUDIT_LIMITS,
  type EffectivePlan,
  resolvePlan,
  runShard,
  selectImages,
  shardCount,
  type ShardImage,
  shardRange,
  type ShardResult,
  spsaSample,
} from "../audit/mod.ts";
import type { AuditReport } from "../audit/report_schema.ts";
import {
  type Dataset,
  type DatasetInput,
  type DatasetLimits,
  decodeDatasetImage,
  DEFAULT_DATASET_LIMITS,
  readDataset,
} from "../dataset/mod.ts";
import { sha256Hex } from "../dataset/sha256.ts";
import { RequestError } from "../errors.ts";
import type { OnnxClassifier } from "../runtime/onnx_classifier.ts";
import type { Registry } from "../registry/registry.ts";
import type { AuditStore, StoredAudit } from "../storage/audits.ts";
import type { JobQueue, ShardContext, ShardJob } from "./queue.ts";

export type AuditStatus = "queued" | "running" | "done" | "failed" | "cancelled";

export interface AuditServiceDeps {
  audits: AuditStore;
  registry: Registry;
  queue: JobQueue;
  datasetLimits?: DatasetLimits;
  /** Largest pixel count of one decoded dataset image. */
  maxPixels?: number;
  log?: (line: string) => void;
  /** Names this process in shard rows. */
  workerName?: string;
}

export interface NewAudit {
  modelId: string;
  version?: number;
  dataset: DatasetInput;
  /** The raw bytes behind an archive or JSON dataset (stored content-addressed for the workers). */
  datasetBytes: Uint8Array | null;
  plan: unknown;
}

export interface AuditView {
  id: string;
  status: AuditStatus;
  model: { id: string; version: number | null; sha256: string };
  dataset: { sha256: string; images: number };
  seed: number;
  progress: {
    images: { done: number; total: number };
    shards: { done: number; total: number };
    /** Milliseconds per stage summed over the finished shards. */
    stagesMs: Record<string, number>;
    /** Forward-pass equivalents per stage summed over the finished shards. */
    compute: Record<string, number>;
  };
  /** Images per second since the first shard started (null before any shard finished). */
  throughput: number | null;
  /** Seconds until done at that throughput (null when unknown or finished). */
  etaSeconds: number | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  links: { self: string; events: string; report: string; html: string; csv: string };
}

export function statusOf(a: StoredAudit): AuditStatus {
  if (a.cancelled) return "cancelled";
  if (a.error) return "failed";
  if (a.finishedAt) return "done";
  return a.startedAt ? "running" : "queued";
}

export function linksOf(id: string): AuditView["links"] {
  const self = `/v1/audits/${id}`;
  return {
    self,
    events: `${self}/events`,
    report: `${self}/report`,
    html: `${self}/report.html`,
    csv: `${self}/rows.csv`,
  };
}

export interface AuditService {
  create(input: NewAudit): Promise<AuditView>;
  get(id: string): Promise<AuditView>;
  list(limit?: number): Promise<AuditView[]>;
  cancel(id: string): Promise<AuditView>;
  /** The report and the shard results it was built from (409 until the audit is done). */
  report(id: string): Promise<{ report: AuditReport; shards: ShardResult[]; labels: string[] }>;
  /** The shard job handler (what `work` runs). */
  runShardJob(job: ShardJob, context?: Partial<ShardContext>): Promise<void>;
  /** Calls `onChange(id)` whenever an audit changes, in any process. */
  watch(onChange: () => void): Promise<void>;
}

const CANCEL_POLL_MS = 1000;

/** A shard that fails the same way on every delivery (e.g. its pinned model changed). */
class AuditInputError extends Error {}

export function createAuditService(deps: AuditServiceDeps): AuditService {
  const { audits, registry, queue } = deps;
  const datasetLimits = deps.datasetLimits ?? DEFAULT_DATASET_LIMITS;
  const maxPixels = deps.maxPixels ?? datasetLimits.maxImagePixels;
  const log = deps.log ?? (() => {});
  const workerName = deps.workerName ?? `${Deno.hostname()}:${Deno.pid}`;
  /** Parsed datasets by (sha256, model labels): workers read each once per process. */
  const datasets = new Map<string, Promise<Dataset>>();

  async function requireAudit(id: string): Promise<StoredAudit> {
    const audit = /^[0-9a-f-]{36}$/.test(id) ? await audits.get(id) : null;
    if (!audit) throw new RequestError(404, "unknown_audit", `no audit with id "${id}"`);
    return audit;
  }

  async function view(a: StoredAudit): Promise<AuditView> {
    const progress = await audits.progress(a.id);
    const stagesMs: Record<string, number> = {};
    const compute: Record<string, number> = {};
    if (progress.shardsDone > 0) {
      for (const row of await audits.shards(a.id)) {
        const r = row.result as ShardResult;
        for (const [k, v] of Object.entries(r.timings)) stagesMs[k] = (stagesMs[k] ?? 0) + v;
        for (const [k, v] of Object.entries(r.compute)) compute[k] = (compute[k] ?? 0) + v;
      }
    }
    const status = statusOf(a);
    let throughput: number | null = null;
    let etaSeconds: number | null = null;
    if (a.startedAt && progress.lastAt && progress.imagesDone > 0) {
      const seconds = (Date.parse(progress.lastAt) - Date.parse(a.startedAt)) / 1000;
      if (seconds > 0) throughput = progress.imagesDone / seconds;
      if (throughput && status === "running") etaSeconds = (a.images - progress.imagesDone) / throughput;
    }
    if (status !== "running") etaSeconds = status === "done" ? 0 : null;
    return {
      id: a.id,
      status,
      model: { id: a.modelId, version: a.modelVersion, sha256: a.modelSha256 },
      dataset: { sha256: a.datasetSha256, images: a.images },
      seed: (a.plan as unknown as EffectivePlan).seed,
      progress: {
        images: { done: progress.imagesDone, total: a.images },
        shards: { done: progress.shardsDone, total: a.shards },
        stagesMs,
        compute,
      },
      throughput,
      etaSeconds,
      error: a.error,
      createdAt: a.createdAt,
      startedAt: a.startedAt,
      finishedAt: a.finishedAt,
      links: linksOf(a.id),
    };
  }

  async function acquireModel(id: string, version?: number): Promise<OnnxClassifier> {
    const model = await registry.acquire(id, version);
    if (!model) {
      throw new RequestError(
        404,
        "unknown_model",
        `no model with id "${id}"${version ? ` and version ${version}` : ""}`,
      );
    }
    return model;
  }

  function datasetOf(a: StoredAudit, labels: readonly string[]): Promise<Dataset> {
    const key = `${a.datasetSha256}:${JSON.stringify(labels)}`;
    let cached = datasets.get(key);
    if (!cached) {
      cached = (async () => {
        const stored = await audits.dataset(a.datasetSha256);
        if (!stored) throw new Error(`audit ${a.id}: dataset ${a.datasetSha256} is not stored`);
        const input: DatasetInput = stored.builtin
          ? { kind: "builtin", name: stored.builtin }
          : stored.format === "json"
          ? { kind: "json", value: JSON.parse(new TextDecoder().decode(await audits.datasetBytes(stored))) }
          : { kind: "archive", bytes: await audits.datasetBytes(stored) };
        return await readDataset(input, labels, datasetLimits);
      })();
      cached.catch(() => datasets.delete(key));
      datasets.set(key, cached);
      // A few datasets per process at most (each holds its images' bytes).
      while (datasets.size > 2) datasets.delete(datasets.keys().next().value!);
    }
    return cached;
  }

  return {
    async create(input) {
      const model = await acquireModel(input.modelId, input.version);
      const facts = { manifest: model.manifest, gradientMode: model.gradientMode };
      const plan = resolvePlan(facts, input.plan);
      const dataset = await readDataset(input.dataset, model.manifest.labels, datasetLimits);
      const chosen = selectImages(plan, dataset.images.map((i) => i.label));
      checkPlanLimits(plan, facts, chosen.length, DEFAULT_AUDIT_LIMITS);
      if (chosen.length === 0) {
        throw new RequestError(422, "invalid_dataset", "images: the dataset has no images for this model");
      }
      const blobSha256 = input.datasetBytes ? await sha256Hex(input.datasetBytes) : null;
      await audits.putDataset({
        sha256: dataset.sha256,
        format: dataset.format,
        blobSha256,
        builtin: input.dataset.kind === "builtin" ? input.dataset.name : null,
        bytes: input.datasetBytes?.length ?? 0,
        images: dataset.images.length,
        counts: dataset.counts,
      }, input.datasetBytes);
      const id = crypto.randomUUID();
      const shards = shardCount(plan, chosen.length);
      await audits.create({
        id,
        modelId: model.manifest.id,
        modelVersion: input.version ?? (await registry.versions(model.manifest.id)).find((v) =>
          v.sha256 === model.sha256
        )?.version ?? null,
        modelSha256: model.sha256,
        datasetSha256: dataset.sha256,
        plan: plan as unknown as Record<string, unknown>,
        images: chosen.length,
        shards,
      });
      await queue.enqueue(Array.from({ length: shards }, (_, shard) => ({ auditId: id, shard })));
      await audits.notify(id);
      log(`audit ${id}: ${model.manifest.id} on ${chosen.length} images in ${shards} shards`);
      return await view((await audits.get(id))!);
    },

    async get(id) {
      return await view(await requireAudit(id));
    },

    async list(limit = 100) {
      return await Promise.all((await audits.list(limit)).map(view));
    },

    async cancel(id) {
      const audit = await requireAudit(id);
      if (await audits.cancel(audit.id)) await audits.notify(audit.id);
      return await view((await audits.get(id))!);
    },

    async report(id) {
      const audit = await requireAudit(id);
      const status = statusOf(audit);
      if (status !== "done") {
        throw new RequestError(409, "report_not_ready", `the audit is ${status}: its report exists once it is done`);
      }
      const rows = await audits.shards(id);
      const shards = rows.map((r) => r.result as ShardResult);
      const plan = audit.plan as unknown as EffectivePlan;
      const model = await acquireModel(audit.modelId, audit.modelVersion ?? undefined);
      const stored = await audits.dataset(audit.datasetSha256);
      const report = buildReport({
        plan,
        shards,
        model: {
          id: audit.modelId,
          version: audit.modelVersion === null ? null : String(audit.modelVersion),
          sha256: audit.modelSha256,
          manifest: model.manifest,
          backend: model.backend,
          gradientMode: model.gradientMode,
        },
        dataset: {
          sha256: audit.datasetSha256,
          source: stored?.builtin ? `builtin:${stored.builtin}` : stored?.format ?? null,
          images: stored?.images ?? null,
        },
        software: { deno: Deno.version.deno, v8: Deno.version.v8, typescript: Deno.version.typescript },
        started: audit.startedAt,
        finished: audit.finishedAt,
        wallMs: audit.startedAt && audit.finishedAt ? Date.parse(audit.finishedAt) - Date.parse(audit.startedAt) : null,
      });
      return { report, shards, labels: model.manifest.labels };
    },

    async runShardJob({ auditId, shard }, context = {}) {
      const audit = await audits.get(auditId);
      if (!audit || statusOf(audit) === "cancelled" || statusOf(audit) === "failed") return;
      if ((await audits.shards(auditId)).some((r) => r.shard === shard)) return;
      await audits.markStarted(auditId);
      await audits.notify(auditId);
      const started = performance.now();
      const abort = new AbortController();
      const onStop = () => abort.abort(context.signal?.reason);
      context.signal?.addEventListener("abort", onStop);
      const poll = setInterval(async () => {
        const now = await audits.get(auditId).catch(() => null);
        if (now?.cancelled) abort.abort(new Error("cancelled"));
      }, CANCEL_POLL_MS);
      try {
        const model = await acquireModel(audit.modelId, audit.modelVersion ?? undefined);
        if (model.sha256 !== audit.modelSha256) {
          throw new AuditInputError(`model ${audit.modelId} is no longer ${audit.modelSha256}`);
        }
        const plan = audit.plan as unknown as EffectivePlan;
        const dataset = await datasetOf(audit, model.manifest.labels);
        const labels = dataset.images.map((i) => i.label);
        const chosen = selectImages(plan, labels);
        const sample = new Set(spsaSample(plan, chosen.map((d) => labels[d])));
        const [a, b] = shardRange(plan, chosen.length, shard);
        const images: ShardImage[] = await Promise.all(
          chosen.slice(a, b).map(async (d, k) => {
            const item = dataset.images[d];
            const decoded = await decodeDatasetImage(item, model.manifest.input, maxPixels);
            return { index: a + k, name: item.name, label: item.label, pixels: decoded.pixels, error: decoded.error };
          }),
        );
        const result = await runShard({
          classifier: model,
          plan,
          shard,
          images,
          spsaSample: sample,
          signal: abort.signal,
        });
        const ms = performance.now() - started;
        await audits.putShard(auditId, { shard, images: images.length, result, worker: workerName, ms });
        if (await audits.finishIfComplete(auditId)) log(`audit ${auditId}: done`);
        await audits.notify(auditId);
      } catch (error) {
        if (abort.signal.aborted) return;
        const last = (context.retryCount ?? 0) >= (context.retryLimit ?? 0);
        // Input-caused errors repeat on every delivery: fail the audit now; other errors retry.
        if (error instanceof RequestError || error instanceof AuditInputError || last) {
          await audits.fail(auditId, `shard ${shard}: ${(error as Error).message}`);
          await audits.notify(auditId);
          return;
        }
        throw error;
      } finally {
        clearInterval(poll);
        context.signal?.removeEventListener("abort", onStop);
      }
    },

    async watch(onChange) {
      await audits.watch(onChange);
    },
  };
}

/** Starts `concurrency` shard workers of this process on the queue. */
export async function startAuditWorkers(service: AuditService, queue: JobQueue, concurrency: number): Promise<void> {
  if (concurrency <= 0) return;
  await queue.work(concurrency, (job, context) => service.runShardJob(job, context));
}
