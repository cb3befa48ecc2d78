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

/** Calibrations by model id and model-file sha256 (stored in the database: src/storage/calibrations.ts). */
export interface CalibrationStore {
  get(modelId: string, sha256: string): Promise<Calibration | null>;
  set(modelId: string, sha256: string, calibration: Calibration): Promise<void>;
}
