import type { Calibration, CalibrationStore } from "../calibration/store.ts";
import type { SqlClient } from "./sql.ts";

/** NOTIFY channel announcing that a calibration was written (payload: the model id). */
export const CALIBRATION_CHANGES_CHANNEL = "robustcheck_calibration_changes";

/**
 * How long a cached calibration is trusted without a NOTIFY: the bound on staleness should another process's
 * write go unannounced (the listening connection is best effort). This process's own writes are seen at once.
 */
const CALIBRATION_CACHE_MAX_AGE_MS = 10_000;

/**
 * Calibrations keyed by model id and the model file's sha256, so that replacing a model's
 * weights never reuses a threshold computed for other weights.
 *
 * Every check reads one, so reads are cached in memory (a query costs ~1 ms on PGlite, on the main thread):
 * a write here updates the cache, a NOTIFY from any process clears that model's entries (all of them for an
 * empty payload), and an entry older than `maxAgeMs` (by `now`, milliseconds) is read again. Entries exist
 * only for (model, file) pairs a check or the model's page asked for.
 */
export async function sqlCalibrationStore(
  sql: SqlClient,
  options: { maxAgeMs?: number; now?: () => number } = {},
): Promise<CalibrationStore> {
  const maxAgeMs = options.maxAgeMs ?? CALIBRATION_CACHE_MAX_AGE_MS;
  const now = options.now ?? (() => performance.now());
  /** model id → sha256 → what a read returned, and when. */
  const cache = new Map<string, Map<string, { value: Calibration | null; readAt: number }>>();
  // Bumped for a model by every write and NOTIFY, so that a read that started before one does not cache
  // what it read.
  const generations = new Map<string, number>();
  const generationOf = (modelId: string) => generations.get(modelId) ?? 0;
  const invalidate = (modelId: string) => {
    generations.set(modelId, generationOf(modelId) + 1);
    cache.delete(modelId);
  };
  const remember = (modelId: string, sha256: string, value: Calibration | null, readAt: number) => {
    let files = cache.get(modelId);
    if (!files) cache.set(modelId, files = new Map());
    files.set(sha256, { value, readAt });
  };
  await sql.listen(CALIBRATION_CHANGES_CHANNEL, (modelId) => {
    if (modelId) return invalidate(modelId);
    for (const id of [...cache.keys(), ...generations.keys()]) invalidate(id);
  });
  return {
    async get(modelId, sha256) {
      const hit = cache.get(modelId)?.get(sha256);
      if (hit && now() - hit.readAt < maxAgeMs) return structuredClone(hit.value);
      const started = generationOf(modelId);
      const readAt = now();
      const rows = await sql.query<{ calibration: Calibration }>(
        "SELECT calibration FROM calibrations WHERE model_id = $1 AND sha256 = $2",
        [modelId, sha256],
      );
      const value = rows[0]?.calibration ?? null;
      if (generationOf(modelId) === started) remember(modelId, sha256, structuredClone(value), readAt);
      return value;
    },
    async set(modelId, sha256, calibration) {
      await sql.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO calibrations (model_id, sha256, calibration) VALUES ($1, $2, $3)
           ON CONFLICT (model_id, sha256) DO UPDATE SET calibration = EXCLUDED.calibration, updated_at = now()`,
          [modelId, sha256, JSON.stringify(calibration)],
        );
        await tx.query("SELECT pg_notify($1, $2)", [CALIBRATION_CHANGES_CHANNEL, modelId]);
      });
      invalidate(modelId);
      // As a read would return it: through JSON, like the jsonb column.
      remember(modelId, sha256, JSON.parse(JSON.stringify(calibration)), now());
    },
  };
}
