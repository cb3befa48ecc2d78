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
  const lockPath = `${dataDir}/lock`;
  let lock: Deno.FsFile;
  try {
    await Deno.mkdir(dataDir, { recursive: true });
    lock = await Deno.open(lockPath, { read: true, write: true, create: true });
  } catch (error) {
    // A read-only filesystem (a container or edge deployment, a read-only checkout) cannot hold
    // the embedded database: say so instead of failing later inside PGlite.
    if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable || isReadOnly(error)) {
      throw new Error(
        `the data directory ${dataDir} is not writable (${(error as Error).message}): the embedded PGlite ` +
          "database needs one. Set ROBUSTCHECK_DATABASE_URL=postgres://… (required on Deno Deploy), or " +
          "ROBUSTCHECK_DATA_DIR to a writable directory.",
      );
    }
    throw error;
  }
  // Deno.FsFile.tryLock is newer than some supported runtimes (Deno 2.5, which Deno Deploy runs).
  if (typeof lock.tryLock !== "function") {
    lock.close();
    throw new Error(
      `the embedded PGlite database needs Deno.FsFile.tryLock, which Deno ${Deno.version.deno} lacks: ` +
        'set ROBUSTCHECK_DATABASE_URL=postgres://… or run a newer Deno (see README "Deploy to the edge").',
    );
  }
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

function isReadOnly(error: unknown): boolean {
  return error instanceof Error && /EROFS|read-only file system/i.test(error.message);
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
      await db.listen(channel, (payload) => onNotify(payload));
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
