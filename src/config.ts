import { z } from "zod";
import { type CheckLimits, DEFAULT_CHECK_LIMITS } from "./check/options.ts";
import { loadOpsConfig, type OpsConfig } from "./ops/config.ts";

const cores = navigator.hardwareConcurrency || 1;

const ConfigSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  // Loopback by default: another address needs API keys or ROBUSTCHECK_ALLOW_ANONYMOUS=1 (src/server.ts).
  HOSTNAME: z.string().default("127.0.0.1"),
  ROBUSTCHECK_MODELS_DIR: z.string().default("./models"),
  ROBUSTCHECK_BACKEND: z.enum(["auto", "wasm", "webgpu", "native"]).default("auto"),
  ROBUSTCHECK_THREADS: z.coerce.number().int().min(1).max(256).default(cores),
  ROBUSTCHECK_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  ROBUSTCHECK_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(10_000_000),
  ROBUSTCHECK_MAX_PIXELS: z.coerce.number().int().min(1).default(40_000_000),
  ROBUSTCHECK_MAX_COST: z.coerce.number().int().min(1).default(DEFAULT_CHECK_LIMITS.maxCost),
  ROBUSTCHECK_MAX_STEPS: z.coerce.number().int().min(1).default(DEFAULT_CHECK_LIMITS.maxSteps),
  ROBUSTCHECK_DECODE_WORKERS: z.coerce.number().int().min(1).max(64).default(cores),
  ROBUSTCHECK_REQUEST_PIXELS: z.coerce.number().int().min(1).default(200_000_000),
  ROBUSTCHECK_DATA_DIR: z.string().min(1).default("./data"),
  // Empty counts as unset (env files often carry `ROBUSTCHECK_DATABASE_URL=`).
  ROBUSTCHECK_DATABASE_URL: z.preprocess(
    (v) => (v === "" ? undefined : v),
    z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL").optional(),
  ),
  ROBUSTCHECK_MAX_MODEL_BYTES: z.coerce.number().int().min(1024).default(200_000_000),
  ROBUSTCHECK_MAX_LOADED_MODELS: z.coerce.number().int().min(1).default(8),
  ROBUSTCHECK_MODELS_POLL_MS: z.coerce.number().int().min(0).default(2000),
  ROBUSTCHECK_AUDIT_WORKERS: z.coerce.number().int().min(0).max(64).default(1),
});

export interface Config {
  port: number;
  hostname: string;
  modelsDir: string;
  backend: "auto" | "wasm" | "webgpu" | "native";
  threads: number;
  workers: number;
  /** Deno Workers that decode images (see src/intake/decode_pool.ts). */
  decodeWorkers: number;
  limits: Limits;
  checkLimits: CheckLimits;
  storage: StorageConfig;
  uploads: UploadConfig;
  /** Timeouts, admission, keys, CORS, logs (src/ops/config.ts). */
  ops: OpsConfig;
  /** Audit shards this process runs at once (0: none; the API still queues them for worker processes). */
  auditWorkers: number;
}

export interface StorageConfig {
  /** Embedded PGlite database and uploaded model files (unless databaseUrl is set). */
  dataDir: string;
  /** A PostgreSQL server shared by every process; model bytes are stored in it too. */
  databaseUrl?: string;
}

export interface UploadConfig {
  maxModelBytes: number;
  /** Uploaded model versions kept loaded at once (least recently used are unloaded). */
  maxLoadedModels: number;
  /** How often each process re-reads the model catalog to see other processes' uploads. */
  pollMs: number;
}

/** Bounds on what one request may ask for; checked before any decoding or compute. */
export interface Limits {
  maxBodyBytes: number;
  maxPixels: number;
  /** Pixels of all images of one request together (a calibration set), from their headers. */
  maxRequestPixels: number;
  /** A request body must arrive within this many ms (ROBUSTCHECK_BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
}

/** Reads the configuration from environment variables (see README "Configuration"). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid configuration: ${issues.join("; ")}`);
  }
  const c = parsed.data;
  const ops = loadOpsConfig(env, c.ROBUSTCHECK_WORKERS);
  return {
    port: c.PORT,
    hostname: c.HOSTNAME,
    modelsDir: c.ROBUSTCHECK_MODELS_DIR,
    backend: c.ROBUSTCHECK_BACKEND,
    threads: c.ROBUSTCHECK_THREADS,
    workers: c.ROBUSTCHECK_WORKERS,
    decodeWorkers: c.ROBUSTCHECK_DECODE_WORKERS,
    limits: {
      maxBodyBytes: c.ROBUSTCHECK_MAX_BODY_BYTES,
      maxPixels: c.ROBUSTCHECK_MAX_PIXELS,
      maxRequestPixels: c.ROBUSTCHECK_REQUEST_PIXELS,
      bodyTimeoutMs: ops.bodyTimeoutMs,
    },
    storage: { dataDir: c.ROBUSTCHECK_DATA_DIR, databaseUrl: c.ROBUSTCHECK_DATABASE_URL },
    uploads: {
      maxModelBytes: c.ROBUSTCHECK_MAX_MODEL_BYTES,
      maxLoadedModels: c.ROBUSTCHECK_MAX_LOADED_MODELS,
      pollMs: c.ROBUSTCHECK_MODELS_POLL_MS,
    },
    auditWorkers: c.ROBUSTCHECK_AUDIT_WORKERS,
    checkLimits: { ...DEFAULT_CHECK_LIMITS, maxCost: c.ROBUSTCHECK_MAX_COST, maxSteps: c.ROBUSTCHECK_MAX_STEPS },
    ops,
  };
}
