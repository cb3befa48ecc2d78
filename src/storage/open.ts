import type { PGlite } from "@electric-sql/pglite";
import { join } from "node:path";
import type { CalibrationStore } from "../calibration/store.ts";
import { type AuditStore, sqlAuditStore } from "./audits.ts";
import { type BlobStore, chunkBlobStore, fileBlobStore } from "./blobs.ts";
import { sqlCalibrationStore } from "./calibrations.ts";
import { migrate } from "./migrations.ts";
import { type ModelCatalog, sqlModelCatalog } from "./models.ts";
import { openPglite } from "./pglite.ts";
import { openPostgres } from "./postgres.ts";
import type { SqlClient } from "./sql.ts";

export interface StorageOptions {
  /** Embedded mode: PGlite and model files live here (ignored for the database when `databaseUrl` is set). */
  dataDir: string;
  /** postgres://… — share one PostgreSQL between any number of processes. */
  databaseUrl?: string;
}

/** All durable state of the service, migrated and ready. */
export interface Storage {
  readonly kind: "pglite" | "postgres";
  readonly sql: SqlClient;
  readonly calibrations: CalibrationStore;
  readonly models: ModelCatalog;
  readonly audits: AuditStore;
  readonly blobs: BlobStore;
  /**
   * For job queues on the same database (pg-boss): the PGlite instance in embedded mode
   * (`fromPglite(pglite)`), the connection string in PostgreSQL mode.
   */
  readonly pglite?: PGlite;
  readonly databaseUrl?: string;
  close(): Promise<void>;
}

/** Opens the database (PGlite under `dataDir`, or PostgreSQL by URL) and applies pending migrations. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  if (options.databaseUrl) {
    const client = await openPostgres(options.databaseUrl);
    return await ready("postgres", client, { databaseUrl: client.url });
  }
  const client = await openPglite(options.dataDir);
  return await ready("pglite", client, { pglite: client.pglite, blobDir: join(options.dataDir, "blobs") });
}

async function ready(
  kind: Storage["kind"],
  sql: SqlClient,
  extra: { pglite?: PGlite; databaseUrl?: string; blobDir?: string },
): Promise<Storage> {
  try {
    await migrate(sql);
    const blobs = extra.blobDir ? fileBlobStore(extra.blobDir) : chunkBlobStore(sql);
    const models = sqlModelCatalog(sql, blobs);
    await models.collectGarbage();
    return {
      kind,
      sql,
      calibrations: await sqlCalibrationStore(sql),
      models,
      audits: sqlAuditStore(sql, blobs),
      blobs,
      pglite: extra.pglite,
      databaseUrl: extra.databaseUrl,
      close: () => sql.close(),
    };
  } catch (error) {
    await sql.close();
    throw error;
  }
}
