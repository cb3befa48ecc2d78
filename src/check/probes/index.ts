/**
 * The probe registry: the check runs these in this order (screening rows, run steps, report
 * sections, verdict reasons). Adding a probe = one module beside these + one line here.
 */
import { fgsmProbe } from "./fgsm.ts";
import { minimalEpsilonProbe } from "./minimal_epsilon.ts";
import { pgdProbe } from "./pgd.ts";
import { randomizationProbe } from "./randomization.ts";
import { squeezeProbe } from "./squeeze.ts";
import { sweepProbe } from "./sweep.ts";

export const PROBES = [squeezeProbe, randomizationProbe, fgsmProbe, pgdProbe, minimalEpsilonProbe, sweepProbe] as const;
export type Probes = typeof PROBES;
