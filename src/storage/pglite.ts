import { PGlite } from "@electric-sql/pglite";
import type { SqlClient } from "./sql.ts";

/** Raised when another process holds the data directory. */
export class DataDirLockedError extends Error {}

export interface PgliteClient extends SqlClient {
  /** The PGlite instance itself, e.g. for pg-boss's `fromPglite()`. */
  readonly pglite: PGlite;
}

/**
 * Opens PGlite on `<dataDir>/pglite`. PGlite itself lets two processes open one directory and
 * then loses committed rows, so an exclusive lock on `<dataDir>/lock` is taken first; the OS
 * releases it when the holder exits, even on SIGKILL.
 */
export async function openPglite(dataDir: string): Promise<PgliteClient> {
  await Deno.mkdir(dataDir, { recursive: true });
  const lockPath = `${dataDir}/lock`;
  const lock = await Deno.open(lockPath, { read: true, write: true, create: true });
  if (!await lock.tryLock(true)) {
    lock.close();
    throw new DataDirLockedError(
      `${lockPath} is locked: another robustcheck process uses the data directory ${dataDir}. ` +
        "Stop it, give this one its own ROBUSTCHECK_DATA_DIR, or share a PostgreSQL server " +
        "(ROBUSTCHECK_DATABASE_URL) between processes.",
    );
  }
  let db: PGlite;
  try {
    db = await PGlite.create(`${dataDir}/pglite`);
  } catch (error) {
    lock.close();
    throw error;
  }
  return wrapPglite(db, () => lock.close());
}

/** A PGlite in memory (nothing persists): for unit tests. */
export async function openMemoryPglite(): Promise<PgliteClient> {
  return wrapPglite(await PGlite.create(), () => {});
}

function wrapPglite(db: PGlite, onClose: () => void): PgliteClient {
  return {
    pglite: db,
    async query<Row>(text: string, params: unknown[] = []) {
      return (await db.query<Row>(text, params)).rows;
    },
    transaction(work) {
      return db.transaction((tx) =>
        work({ query: async <Row>(text: string, params: unknown[] = []) => (await tx.query<Row>(text, params)).rows })
      );
    },
    async listen(channel, onNotify) {
      await db.listen(channel, () => onNotify());
    },
    async close() {
      try {
        await db.close();
      } finally {
        onClose();
      }
    },
  };
}
