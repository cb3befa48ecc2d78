/** A squeeze-score threshold calibrated on clean images for one model file. */
export interface Calibration {
  threshold: number;
  /** The false-positive rate asked for, and the one the threshold gives on the calibration set. */
  targetFpr: number;
  fpr: number;
  count: number;
  /** Which squeezers the joint score was computed with (a threshold is only valid for those). */
  squeezers: string[];
  calibratedAt: string;
}

export interface CalibrationStore {
  get(modelId: string, sha256: string): Promise<Calibration | null>;
  set(modelId: string, sha256: string, calibration: Calibration): Promise<void>;
  close(): void;
}

/**
 * Calibrations in Deno KV, keyed by model id and the model file's sha256 so that replacing a
 * model's weights never reuses a threshold computed for other weights.
 */
export async function openCalibrationStore(path?: string): Promise<CalibrationStore> {
  const kv = await Deno.openKv(path);
  return {
    async get(modelId, sha256) {
      return (await kv.get<Calibration>(["calibration", modelId, sha256])).value;
    },
    async set(modelId, sha256, calibration) {
      await kv.set(["calibration", modelId, sha256], calibration);
    },
    close() {
      kv.close();
    },
  };
}
