import type { Calibration, CalibrationStore } from "../calibration/store.ts";
import type { SqlClient } from "./sql.ts";

/**
 * Calibrations keyed by model id and the model file's sha256, so that replacing a model's
 * weights never reuses a threshold computed for other weights.
 */
export function sqlCalibrationStore(sql: SqlClient): CalibrationStore {
  return {
    async get(modelId, sha256) {
      const rows = await sql.query<{ calibration: Calibration }>(
        "SELECT calibration FROM calibrations WHERE model_id = $1 AND sha256 = $2",
        [modelId, sha256],
      );
      return rows[0]?.calibration ?? null;
    },
    async set(modelId, sha256, calibration) {
      await sql.query(
        `INSERT INTO calibrations (model_id, sha256, calibration) VALUES ($1, $2, $3)
         ON CONFLICT (model_id, sha256) DO UPDATE SET calibration = EXCLUDED.calibration, updated_at = now()`,
        [modelId, sha256, JSON.stringify(calibration)],
      );
    },
  };
}
