/** Server-wide bounds on one check request (a request over any of them is a 422 naming it). */
export interface CheckLimits {
  maxSteps: number;
  maxRestarts: number;
  maxDraws: number;
  maxEpsList: number;
  maxPgdProbes: number;
  maxBisectionSteps: number;
  maxSqueezers: number;
  /** Per-request compute budget in forward-pass equivalents (one gradient row counts 2). */
  maxCost: number;
}

export const DEFAULT_CHECK_LIMITS: CheckLimits = {
  maxSteps: 1000,
  maxRestarts: 32,
  maxDraws: 256,
  maxEpsList: 16,
  maxPgdProbes: 8,
  maxBisectionSteps: 30,
  maxSqueezers: 8,
  maxCost: 50_000,
};
