/**
 * The one rule for a step size a request does not give (Madry et al. 2018): α = 2.5·ε/steps, so
 * that `steps` steps can cross the ε-ball 2.5 times. The minimal-ε search scales its step with the
 * ε it tries, so its factor is the same rule with ε = 1: alphaFactor = 2.5/steps.
 */
export function derivedStep(eps: number, steps: number): number {
  return 2.5 * eps / steps;
}

export function derivedAlphaFactor(steps: number): number {
  return derivedStep(1, steps);
}
