/**
 * Audits in the database: the dataset each audit reads (bytes as a content-addressed blob), the
 * audit (model pinned by sha256, the effective plan, image and shard counts), and one result row
 * per (audit, shard) written in one statement with ON CONFLICT DO NOTHING, so a shard delivered
 * twice (pg-boss delivers at least once) keeps exactly one row. Status, progress and the report
 * are derived from these rows (src/jobs/audits.ts).
 */
import type { BlobStore } from "./blobs.ts";
import type { SqlClient } from "./sql.ts";

export interface StoredDataset {
  sha256: string;
  format: string;
  /** The upload's bytes (blobs.ts); null for builtin sets, which are read from `datasets/`. */
  blobSha256: string | null;
  builtin: string | null;
  bytes: number;
  images: number;
  counts: number[];
}

export interface StoredAudit {
  id: string;
  modelId: string;
  modelVersion: number | null;
  modelSha256: string;
  datasetSha256: string;
  plan: Record<string, unknown>;
  images: number;
  shards: number;
  cancelled: boolean;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface ShardRow {
  shard: number;
  images: number;
  result: unknown;
  worker: string;
  ms: number;
  createdAt: string;
}

export interface AuditProgress {
  shardsDone: number;
  imagesDone: number;
  /** Sum of the shards' wall-clock milliseconds (compute time, whatever the number of workers). */
  shardMs: number;
  firstAt: string | null;
  lastAt: string | null;
}

/** NOTIFY channel: an audit changed (payload: its id). */
export const AUDIT_CHANGES_CHANNEL = "robustcheck_audit_changes";

export interface AuditStore {
  putDataset(dataset: StoredDataset, bytes: Uint8Array | null): Promise<void>;
  dataset(sha256: string): Promise<StoredDataset | null>;
  datasetBytes(dataset: StoredDataset): Promise<Uint8Array>;
  create(audit: Omit<StoredAudit, "cancelled" | "error" | "createdAt" | "startedAt" | "finishedAt">): Promise<void>;
  get(id: string): Promise<StoredAudit | null>;
  list(limit: number): Promise<StoredAudit[]>;
  /** Marks the audit started (first shard picked up); a no-op once set. */
  markStarted(id: string): Promise<void>;
  /** Writes a shard's result once; true when this call wrote it. */
  putShard(id: string, row: Omit<ShardRow, "createdAt">): Promise<boolean>;
  /** Sets finished_at when every shard has a row; true when this call finished it. */
  finishIfComplete(id: string): Promise<boolean>;
  cancel(id: string): Promise<boolean>;
  fail(id: string, error: string): Promise<void>;
  progress(id: string): Promise<AuditProgress>;
  shards(id: string): Promise<ShardRow[]>;
  notify(id: string): Promise<void>;
  watch(onChange: () => void): Promise<void>;
}

const iso = (v: Date | string | null): string | null => v === null ? null : new Date(v).toISOString();

interface AuditDbRow {
  id: string;
  model_id: string;
  model_version: number | null;
  model_sha256: string;
  dataset_sha256: string;
  plan: Record<string, unknown>;
  images: number;
  shards: number;
  cancelled: boolean;
  error: string | null;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

function fromRow(r: AuditDbRow): StoredAudit {
  return {
    id: r.id,
    modelId: r.model_id,
    modelVersion: r.model_version,
    modelSha256: r.model_sha256,
    datasetSha256: r.dataset_sha256,
    plan: r.plan,
    images: Number(r.images),
    shards: Number(r.shards),
    cancelled: r.cancelled,
    error: r.error,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
  };
}

export function sqlAuditStore(sql: SqlClient, blobs: BlobStore): AuditStore {
  return {
    async putDataset(d, bytes) {
      await sql.transaction(async (tx) => {
        if (bytes && d.blobSha256) await blobs.put(d.blobSha256, bytes, tx);
        await tx.query(
          `INSERT INTO datasets (sha256, format, blob_sha256, builtin, bytes, images, counts)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [d.sha256, d.format, d.blobSha256, d.builtin, d.bytes, d.images, JSON.stringify(d.counts)],
        );
      });
    },
    async dataset(sha256) {
      const [r] = await sql.query<Record<string, unknown>>("SELECT * FROM datasets WHERE sha256 = $1", [sha256]);
      if (!r) return null;
      return {
        sha256: r.sha256 as string,
        format: r.format as string,
        blobSha256: r.blob_sha256 as string | null,
        builtin: r.builtin as string | null,
        bytes: Number(r.bytes),
        images: Number(r.images),
        counts: r.counts as number[],
      };
    },
    async datasetBytes(d) {
      if (!d.blobSha256) throw new Error(`dataset ${d.sha256} has no stored bytes (builtin ${d.builtin})`);
      return await blobs.get(d.blobSha256);
    },
    async create(a) {
      await sql.query(
        `INSERT INTO audits (id, model_id, model_version, model_sha256, dataset_sha256, plan, images, shards)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [a.id, a.modelId, a.modelVersion, a.modelSha256, a.datasetSha256, JSON.stringify(a.plan), a.images, a.shards],
      );
    },
    async get(id) {
      const [r] = await sql.query<AuditDbRow>("SELECT * FROM audits WHERE id = $1", [id]);
      return r ? fromRow(r) : null;
    },
    async list(limit) {
      const rows = await sql.query<AuditDbRow>("SELECT * FROM audits ORDER BY created_at DESC, id LIMIT $1", [limit]);
      return rows.map(fromRow);
    },
    async markStarted(id) {
      await sql.query("UPDATE audits SET started_at = now() WHERE id = $1 AND started_at IS NULL", [id]);
    },
    async putShard(id, row) {
      const written = await sql.query(
        `INSERT INTO audit_shards (audit_id, shard, images, result, worker, ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT DO NOTHING RETURNING shard`,
        [id, row.shard, row.images, JSON.stringify(row.result), row.worker, row.ms],
      );
      return written.length > 0;
    },
    async finishIfComplete(id) {
      const done = await sql.query(
        `UPDATE audits SET finished_at = now() WHERE id = $1 AND finished_at IS NULL
         AND shards = (SELECT count(*) FROM audit_shards WHERE audit_id = $1) RETURNING id`,
        [id],
      );
      return done.length > 0;
    },
    async cancel(id) {
      const rows = await sql.query(
        "UPDATE audits SET cancelled = true WHERE id = $1 AND finished_at IS NULL AND NOT cancelled RETURNING id",
        [id],
      );
      return rows.length > 0;
    },
    async fail(id, error) {
      await sql.query("UPDATE audits SET error = $2 WHERE id = $1 AND error IS NULL", [id, error]);
    },
    async progress(id) {
      const [r] = await sql.query<Record<string, unknown>>(
        `SELECT count(*) AS shards, coalesce(sum(images), 0) AS images, coalesce(sum(ms), 0) AS ms,
                min(created_at) AS first_at, max(created_at) AS last_at
         FROM audit_shards WHERE audit_id = $1`,
        [id],
      );
      return {
        shardsDone: Number(r.shards),
        imagesDone: Number(r.images),
        shardMs: Number(r.ms),
        firstAt: iso(r.first_at as Date | null),
        lastAt: iso(r.last_at as Date | null),
      };
    },
    async shards(id) {
      const rows = await sql.query<Record<string, unknown>>(
        "SELECT shard, images, result, worker, ms, created_at FROM audit_shards WHERE audit_id = $1 ORDER BY shard",
        [id],
      );
      return rows.map((r) => ({
        shard: Number(r.shard),
        images: Number(r.images),
        result: r.result,
        worker: r.worker as string,
        ms: Number(r.ms),
        createdAt: iso(r.created_at as Date)!,
      }));
    },
    async notify(id) {
      await sql.query("SELECT pg_notify($1, $2)", [AUDIT_CHANGES_CHANNEL, id]);
    },
    async watch(onChange) {
      await sql.listen(AUDIT_CHANGES_CHANNEL, onChange);
    },
  };
}
