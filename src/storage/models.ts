import type { BlobStore } from "./blobs.ts";
import type { SqlClient } from "./sql.ts";

/** One uploaded model version as stored (the manifest and inspection are JSON the registry parses). */
export interface StoredModelVersion {
  /** Unique forever, across deletions: what a cached session is keyed by. */
  key: number;
  id: string;
  version: number;
  sha256: string;
  bytes: number;
  manifest: Record<string, unknown>;
  createdAt: string;
}

export interface NewModelVersion {
  id: string;
  labels: string[];
  sha256: string;
  modelBytes: Uint8Array;
  manifest: Record<string, unknown>;
  /** Built by the caller with the version number it is about to get. */
  inspection: (version: number) => Record<string, unknown>;
}

/** The same id uploaded with other labels: a new version must classify into the same classes. */
export class LabelSetConflictError extends Error {}

/** NOTIFY channel announcing that model versions were added or deleted. */
export const MODEL_CHANGES_CHANNEL = "robustcheck_model_changes";

export interface ModelCatalog {
  /** Every stored version, by id then version. */
  list(): Promise<StoredModelVersion[]>;
  add(model: NewModelVersion): Promise<StoredModelVersion>;
  inspection(id: string, version: number): Promise<Record<string, unknown> | null>;
  /** Deletes one version and collects its bytes if nothing else references them; false if absent. */
  remove(id: string, version: number): Promise<boolean>;
  read(sha256: string): Promise<Uint8Array>;
  /** Deletes bytes no version references (left by a crash between writing bytes and the row). */
  collectGarbage(): Promise<number>;
  /** Calls `onChange` when any process adds or deletes a version. */
  watch(onChange: () => void): Promise<void>;
}

/** Deleting a version that an unfinished audit pins. */
export class ModelInUseError extends Error {
  constructor(readonly id: string, readonly version: number, readonly auditId: string) {
    super(`model "${id}" version ${version} is used by audit ${auditId}, which has not ended; cancel it or wait`);
  }
}

interface VersionRow {
  key: number | string;
  model_id: string;
  version: number;
  sha256: string;
  bytes: number | string;
  manifest: Record<string, unknown>;
  created_at: Date | string;
}

function fromRow(row: VersionRow): StoredModelVersion {
  return {
    key: Number(row.key),
    id: row.model_id,
    version: row.version,
    sha256: row.sha256,
    bytes: Number(row.bytes),
    manifest: row.manifest,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

const COLUMNS = "key, model_id, version, sha256, bytes, manifest, created_at";

export function sqlModelCatalog(sql: SqlClient, blobs: BlobStore): ModelCatalog {
  return {
    async list() {
      const rows = await sql.query<VersionRow>(`SELECT ${COLUMNS} FROM model_versions ORDER BY model_id, version`);
      return rows.map(fromRow);
    },
    async add(model) {
      const stored = await sql.transaction(async (tx) => {
        // Row lock on the model: concurrent uploads of one id get consecutive versions.
        await tx.query(
          "INSERT INTO models (id, labels) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
          [model.id, JSON.stringify(model.labels)],
        );
        const [current] = await tx.query<{ labels: string[]; next_version: number }>(
          "SELECT labels, next_version FROM models WHERE id = $1 FOR UPDATE",
          [model.id],
        );
        if (JSON.stringify(current.labels) !== JSON.stringify(model.labels)) {
          throw new LabelSetConflictError(
            `labels: model "${model.id}" already exists with the labels [${current.labels.join(", ")}]; ` +
              "a new version must keep them (delete every version first, or upload under another id)",
          );
        }
        const version = current.next_version;
        await blobs.put(model.sha256, model.modelBytes, tx);
        await tx.query("UPDATE models SET next_version = $2 WHERE id = $1", [model.id, version + 1]);
        const [row] = await tx.query<VersionRow>(
          `INSERT INTO model_versions (model_id, version, sha256, bytes, manifest, inspection)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
          [
            model.id,
            version,
            model.sha256,
            model.modelBytes.length,
            JSON.stringify(model.manifest),
            JSON.stringify(model.inspection(version)),
          ],
        );
        await tx.query("SELECT pg_notify($1, $2)", [MODEL_CHANGES_CHANNEL, model.id]);
        return fromRow(row);
      }).catch(async (error) => {
        // File-backed bytes are written outside the transaction: drop them if the row never landed.
        await sql.transaction((tx) => blobs.collect(model.sha256, tx));
        throw error;
      });
      return stored;
    },
    async inspection(id, version) {
      const rows = await sql.query<{ inspection: Record<string, unknown> }>(
        "SELECT inspection FROM model_versions WHERE model_id = $1 AND version = $2",
        [id, version],
      );
      return rows[0]?.inspection ?? null;
    },
    async remove(id, version) {
      const sha256 = await sql.transaction(async (tx) => {
        // An audit that has not ended still needs these bytes (its shards load the pinned version).
        const using = await tx.query<{ id: string }>(
          `SELECT id FROM audits WHERE model_id = $1 AND model_version = $2
             AND finished_at IS NULL AND NOT cancelled AND error IS NULL LIMIT 1`,
          [id, version],
        );
        if (using.length > 0) throw new ModelInUseError(id, version, using[0].id);
        const deleted = await tx.query<{ sha256: string }>(
          "DELETE FROM model_versions WHERE model_id = $1 AND version = $2 RETURNING sha256",
          [id, version],
        );
        if (deleted.length === 0) return null;
        // The last version gone: the id is free again, with any label set.
        await tx.query(
          "DELETE FROM models WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM model_versions WHERE model_id = $1)",
          [id],
        );
        await tx.query("SELECT pg_notify($1, $2)", [MODEL_CHANGES_CHANNEL, id]);
        return deleted[0].sha256;
      });
      if (sha256 === null) return false;
      // After the commit, so a failed delete never loses the bytes of a version that stays.
      await sql.transaction((tx) => blobs.collect(sha256, tx));
      return true;
    },
    read: (sha256) => blobs.get(sha256),
    watch: (onChange) => sql.listen(MODEL_CHANGES_CHANNEL, onChange),
    async collectGarbage() {
      return await sql.transaction(async (tx) => {
        const orphans = await blobs.orphans(tx);
        for (const sha256 of orphans) await blobs.collect(sha256, tx);
        return orphans.length;
      });
    },
  };
}
