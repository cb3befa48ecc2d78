/** Public surface of the attack engine (see each module for its conventions). */
export { type AttackResult, type NormName, type Perturbation, type Prediction } from "./result.ts";
export { countingClassifier, DEFAULT_GRADIENT_COST, type Evaluations, forwardEquivalents } from "./cost.ts";
export { estimateFgsmCost, fgsm, type FgsmCostOptions, type FgsmOptions } from "./fgsm.ts";
export { estimatePgdCost, pgd, type PgdCostOptions, type PgdOptions } from "./pgd.ts";
export {
  estimateMinimalEpsilonCost,
  minimalEpsilon,
  type MinimalEpsilonCostOptions,
  type MinimalEpsilonOptions,
  type MinimalEpsilonResult,
} from "./minimal_epsilon.ts";
export {
  eotPgd,
  type EotPgdCostOptions,
  type EotPgdOptions,
  type EotPgdResult,
  estimateEotPgdCost,
} from "./eot_pgd.ts";
export {
  apgd,
  apgdCheckpoints,
  type ApgdCostOptions,
  type ApgdLoss,
  type ApgdOptions,
  estimateApgdCost,
} from "./apgd.ts";
