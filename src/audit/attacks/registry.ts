/**
 * Every attack kind an audit plan may name, one line each. Adding an attack = one runner module
 * beside these + one line here.
 */
import { apgdCeRunner, apgdDlrRunner } from "./apgd.ts";
import { fgsmRunner } from "./fgsm.ts";
import { pgdRunner } from "./pgd.ts";
import type { AttackRunner } from "./types.ts";

export const ATTACK_RUNNERS: readonly AttackRunner[] = [
  fgsmRunner as unknown as AttackRunner,
  pgdRunner as unknown as AttackRunner,
  apgdCeRunner as unknown as AttackRunner,
  apgdDlrRunner as unknown as AttackRunner,
];

export function attackRunner(kind: string): AttackRunner {
  const runner = ATTACK_RUNNERS.find((r) => r.kind === kind);
  if (!runner) throw new RangeError(`no attack runner for kind ${JSON.stringify(kind)}`);
  return runner;
}
