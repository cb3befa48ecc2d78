/** Public surface of the audit building blocks (see each module for its conventions). */
export {
  type AuditLimits,
  type AuditPlanInput,
  AuditPlanSchema,
  checkPlanLimits,
  DEFAULT_AUDIT_LIMITS,
  type EffectivePlan,
  estimatePlanCost,
  PLAN_VERSION,
  resolvePlan,
  selectImages,
  shardCount,
  shardRange,
  spsaSample,
} from "./plan.ts";
export { runShard, type ShardImage, type ShardInput } from "./shard.ts";
export type { AttackRow, ExampleImage, ImageRow, ShardResult } from "./rows.ts";
export { buildReport, type ReportInput } from "./report.ts";
export { type AuditReport, AuditReportSchema, REPORT_SCHEMA, REPORT_VERSION } from "./report_schema.ts";
export { renderReportHtml } from "./html.ts";
export { auditRowsCsv, CSV_COLUMNS } from "./csv.ts";
export { ATTACK_RUNNERS } from "./attacks/registry.ts";
export { imageSeed } from "./seeds.ts";
