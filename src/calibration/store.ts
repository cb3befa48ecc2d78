import type { Squeezer } from "../check/squeeze.ts";
import type { SelectionReport } from "./squeezer_selection.ts";

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
  /**
   * Present when the squeezers were selected (`select: true`): the chosen set, which /check uses when a
   * request names no squeezers, and the selection report (threshold and figures are from the data).
   */
  set?: Squeezer[];
  selection?: SelectionReport;
}

/** Calibrations by model id and model-file sha256 (stored in the database: src/storage/calibrations.ts). */
export interface CalibrationStore {
  get(modelId: string, sha256: string): Promise<Calibration | null>;
  set(modelId: string, sha256: string, calibration: Calibration): Promise<void>;
}
