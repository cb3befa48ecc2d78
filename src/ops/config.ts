import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

export const ORT_LOG_LEVELS = ["verbose", "info", "warning", "error", "fatal"] as const;
export type OrtLogLevel = typeof ORT_LOG_LEVELS[number];

const flag = z.enum(["0", "1", "true", "false"]).default("0").transform((v) => v === "1" || v === "true");
const ms = (fallback: number) => z.coerce.number().int().min(1).default(fallback);

/** The operations variables (README "Limits, keys and operations"); src/config.ts reads the rest. */
const OpsEnvSchema = z.object({
  ROBUSTCHECK_REQUEST_TIMEOUT_MS: ms(120_000),
  ROBUSTCHECK_BODY_TIMEOUT_MS: ms(30_000),
  ROBUSTCHECK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).optional(),
  ROBUSTCHECK_MAX_QUEUE: z.coerce.number().int().min(0).default(64),
  ROBUSTCHECK_MAX_REQUESTS: z.coerce.number().int().min(1).default(256),
  ROBUSTCHECK_API_KEYS_FILE: z.string().min(1).optional(),
  ROBUSTCHECK_ALLOW_ANONYMOUS: flag,
  ROBUSTCHECK_RATE_PER_MINUTE: z.coerce.number().positive().default(600),
  ROBUSTCHECK_CORS_ORIGINS: z.string().default(""),
  ROBUSTCHECK_LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
  ROBUSTCHECK_ORT_LOG_LEVEL: z.enum(ORT_LOG_LEVELS).default("error"),
  ROBUSTCHECK_SHUTDOWN_GRACE_MS: ms(10_000),
  // Longer than any one batch the service sends (a batch of a large model on a loaded machine takes seconds).
  ROBUSTCHECK_WORKER_TIMEOUT_MS: ms(300_000),
});

export interface OpsConfig {
  /** Deadline of every request, queue wait included. */
  requestTimeoutMs: number;
  /** A request body must arrive within this time (slow uploads get 408). */
  bodyTimeoutMs: number;
  /** Model-work requests (predict, check, calibrate, …) running at once. */
  maxInFlight: number;
  /** Model-work requests waiting for a slot; past it: 503 `overloaded`. */
  maxQueue: number;
  /** Requests of any kind being handled at once (health checks excepted); past it: 503 `overloaded`. */
  maxRequests: number;
  apiKeysFile?: string;
  /** Serve without keys on a non-loopback address (read and check only; writes stay loopback-only). */
  allowAnonymous: boolean;
  /** Default requests per minute of a key. */
  ratePerMinute: number;
  /** Origins allowed by CORS; empty = CORS off. */
  corsOrigins: string[];
  logLevel: LogLevel;
  ortLogLevel: OrtLogLevel;
  /** After SIGTERM, in-flight requests get this long before they are cancelled. */
  shutdownGraceMs: number;
  /** A session Worker that does not answer within this time is replaced. */
  workerTimeoutMs: number;
}

/** Reads the operations variables; `workers` sizes the default number of model-work slots. */
export function loadOpsConfig(env: Record<string, string | undefined>, workers: number): OpsConfig {
  const parsed = OpsEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid configuration: ${issues.join("; ")}`);
  }
  const c = parsed.data;
  return {
    requestTimeoutMs: c.ROBUSTCHECK_REQUEST_TIMEOUT_MS,
    bodyTimeoutMs: c.ROBUSTCHECK_BODY_TIMEOUT_MS,
    // Two per Worker keep each Worker busy while the other request is between batches.
    maxInFlight: c.ROBUSTCHECK_MAX_IN_FLIGHT ?? 2 * workers,
    maxQueue: c.ROBUSTCHECK_MAX_QUEUE,
    maxRequests: c.ROBUSTCHECK_MAX_REQUESTS,
    apiKeysFile: c.ROBUSTCHECK_API_KEYS_FILE,
    allowAnonymous: c.ROBUSTCHECK_ALLOW_ANONYMOUS,
    ratePerMinute: c.ROBUSTCHECK_RATE_PER_MINUTE,
    corsOrigins: c.ROBUSTCHECK_CORS_ORIGINS.split(",").map((o) => o.trim()).filter((o) => o.length > 0),
    logLevel: c.ROBUSTCHECK_LOG_LEVEL,
    ortLogLevel: c.ROBUSTCHECK_ORT_LOG_LEVEL,
    shutdownGraceMs: c.ROBUSTCHECK_SHUTDOWN_GRACE_MS,
    workerTimeoutMs: c.ROBUSTCHECK_WORKER_TIMEOUT_MS,
  };
}
