import { join } from "node:path";
import type { SqlQuery } from "./sql.ts";

/**
 * Content-addressed bytes (model files, dataset uploads), named by their sha256 hex. `put` is idempotent;
 * `tx` is the transaction to write in, so bytes and the row that references them commit together
 * where the store lives in the database.
 */
export interface BlobStore {
  put(sha256: string, bytes: Uint8Array, tx: SqlQuery): Promise<void>;
  get(sha256: string): Promise<Uint8Array>;
  /** Removes the bytes if no model version or dataset references them any more. */
  collect(sha256: string, tx: SqlQuery): Promise<void>;
  /** Every stored sha256 that no model version or dataset references (e.g. left by a crash). */
  orphans(tx: SqlQuery): Promise<string[]>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function checkName(sha256: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return sha256;
}

/** Model versions and datasets hold blobs. */
const REFERENCES = `(SELECT sha256 FROM model_versions UNION ALL SELECT blob_sha256 FROM datasets)`;

/**
 * Serialises writing and collecting one sha256 across processes (until the transaction ends), so
 * a collection never deletes bytes that a concurrent upload is about to reference.
 */
async function lockBytes(tx: SqlQuery, sha256: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(7300, hashtext($1))", [sha256]);
}

async function referenced(tx: SqlQuery, sha256: string): Promise<boolean> {
  return (await tx.query(`SELECT 1 FROM ${REFERENCES} r WHERE r.sha256 = $1 LIMIT 1`, [sha256])).length > 0;
}

/**
 * Embedded mode: one file per sha256 under `dir`, written to a temporary name and renamed, so a
 * crash never leaves a partial file under a real name (PGlite holds metadata only: large values
 * inside it cost seconds and gigabytes).
 */
export function fileBlobStore(dir: string): BlobStore {
  return {
    async put(sha256, bytes, tx) {
      const path = join(dir, checkName(sha256));
      await lockBytes(tx, sha256);
      try {
        await Deno.stat(path);
        return;
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      await Deno.mkdir(dir, { recursive: true });
      const temp = join(dir, `.tmp-${crypto.randomUUID()}`);
      try {
        await Deno.writeFile(temp, bytes);
        await Deno.rename(temp, path);
      } catch (error) {
        await Deno.remove(temp).catch(() => {});
        throw error;
      }
    },
    async get(sha256) {
      return await Deno.readFile(join(dir, checkName(sha256)));
    },
    async collect(sha256, tx) {
      await lockBytes(tx, checkName(sha256));
      if (await referenced(tx, sha256)) return;
      await Deno.remove(join(dir, checkName(sha256))).catch(() => {});
    },
    async orphans(tx) {
      const names: string[] = [];
      try {
        for await (const entry of Deno.readDir(dir)) {
          // Temporary files belong to no upload once the process that wrote them is gone.
          if (entry.name.startsWith(".tmp-")) await Deno.remove(join(dir, entry.name)).catch(() => {});
          else if (SHA256_HEX.test(entry.name) && !await referenced(tx, entry.name)) names.push(entry.name);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
      return names;
    },
  };
}

/** Chunk size for model bytes in PostgreSQL: bounded rows, never one huge value. */
export const BLOB_CHUNK_BYTES = 1 << 20;

/**
 * PostgreSQL mode: bytes in `blob_chunks` rows of at most BLOB_CHUNK_BYTES, so every process on
 * every machine sees them, written in the caller's transaction and read one chunk at a time.
 */
export function chunkBlobStore(read: SqlQuery): BlobStore {
  return {
    async put(sha256, bytes, tx) {
      await lockBytes(tx, checkName(sha256));
      const chunks = Math.max(1, Math.ceil(bytes.length / BLOB_CHUNK_BYTES));
      for (let part = 0; part < chunks; part++) {
        await tx.query(
          "INSERT INTO blob_chunks (sha256, part, data) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
          [sha256, part, bytes.subarray(part * BLOB_CHUNK_BYTES, (part + 1) * BLOB_CHUNK_BYTES)],
        );
      }
    },
    async get(sha256) {
      const sizes = await read.query<{ part: number; size: number }>(
        "SELECT part, length(data) AS size FROM blob_chunks WHERE sha256 = $1 ORDER BY part",
        [checkName(sha256)],
      );
      if (sizes.length === 0) throw new Error(`no stored bytes for ${sha256}`);
      const out = new Uint8Array(sizes.reduce((n, s) => n + Number(s.size), 0));
      let offset = 0;
      for (const { part } of sizes) {
        const [row] = await read.query<{ data: Uint8Array }>(
          "SELECT data FROM blob_chunks WHERE sha256 = $1 AND part = $2",
          [sha256, part],
        );
        out.set(row.data, offset);
        offset += row.data.length;
      }
      return out;
    },
    async collect(sha256, tx) {
      await lockBytes(tx, checkName(sha256));
      await tx.query(
        `DELETE FROM blob_chunks WHERE sha256 = $1 AND NOT EXISTS (SELECT 1 FROM ${REFERENCES} r WHERE r.sha256 = $1)`,
        [checkName(sha256)],
      );
    },
    async orphans(tx) {
      const rows = await tx.query<{ sha256: string }>(
        `SELECT DISTINCT c.sha256 FROM blob_chunks c
         WHERE NOT EXISTS (SELECT 1 FROM ${REFERENCES} r WHERE r.sha256 = c.sha256)`,
      );
      return rows.map((r) => r.sha256);
    },
  };
}
