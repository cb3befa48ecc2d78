/**
 * The job queue of audits: pg-boss 12.38.0 on the service's own database (PGlite through
 * `fromPglite`, PostgreSQL by its URL). A job carries ids only, `{auditId, shard}`; its result
 * is a row in `audit_shards` (src/storage/audits.ts), so at-least-once delivery never duplicates.
 *
 * Timing (LIBRARY-NOTES.md): jobs send heartbeats every 5 s (`heartbeatSeconds` 10) and the
 * supervisor and monitor run every 2 s, so a shard whose worker was killed goes back to the queue
 * within ~12 s, while a long shard that is still alive never expires (expiry 1 h). Fetches wake on
 * NOTIFY and otherwise poll every 0.5 s.
 */
import { fromPglite, PgBoss } from "pg-boss";
import type { Storage } from "../storage/open.ts";

export const SHARD_QUEUE = "audit-shard";

export interface ShardJob {
  auditId: string;
  shard: number;
}

export interface JobQueueOptions {
  /** Seconds without a heartbeat after which a running shard is handed to another worker. */
  heartbeatSeconds?: number;
  /** Deliveries of one shard before it is given up (the audit then fails). */
  retryLimit?: number;
  /** pg-boss's background errors (default: a line on stderr; the server passes its structured logger). */
  onError?: (error: Error) => void;
}

export interface ShardContext {
  /** 0 on the first delivery. */
  retryCount: number;
  retryLimit: number;
  /** Aborted by pg-boss when this process stops working. */
  signal: AbortSignal;
}

export interface JobQueue {
  enqueue(jobs: ShardJob[]): Promise<void>;
  /** Runs `handler` on up to `concurrency` shards at a time in this process; resolves once registered. */
  work(concurrency: number, handler: (job: ShardJob, context: ShardContext) => Promise<void>): Promise<void>;
  /** Stops fetching; running shards finish (or are abandoned when `graceful` is false). */
  stop(graceful?: boolean): Promise<void>;
}

/**
 * pg-boss keeps its tables in schema `pgboss`, or `<schema>_pgboss` when the URL selects a schema
 * with `options=-c search_path=<schema>` (so every isolated schema has its own queue).
 */
export function bossSchema(databaseUrl: string): string {
  const options = new URL(databaseUrl).searchParams.get("options") ?? "";
  const schema = /search_path=([A-Za-z_][A-Za-z0-9_]*)/.exec(options)?.[1];
  return schema ? `${schema}_pgboss` : "pgboss";
}

export async function openJobQueue(storage: Storage, options: JobQueueOptions = {}): Promise<JobQueue> {
  const heartbeatSeconds = options.heartbeatSeconds ?? 10;
  const retryLimit = options.retryLimit ?? 5;
  const maintenance = { superviseIntervalSeconds: 2, monitorIntervalSeconds: 2, schedule: false };
  const boss = storage.pglite
    ? new PgBoss({ db: fromPglite(storage.pglite), backend: "pglite", ...maintenance })
    : new PgBoss({
      connectionString: storage.databaseUrl!,
      schema: bossSchema(storage.databaseUrl!),
      max: 4,
      ...maintenance,
    });
  boss.on("error", options.onError ?? ((error: Error) => console.error(`job queue: ${error.message}`)));
  await boss.start();
  await boss.createQueue(SHARD_QUEUE, {
    heartbeatSeconds,
    expireInSeconds: 3600,
    retryLimit,
    retryDelay: 0,
  }).catch((error: Error) => {
    // Another process created it first.
    if (!/exists/i.test(error.message)) throw error;
  });
  let stopped = false;
  return {
    async enqueue(jobs) {
      if (jobs.length === 0) return;
      await boss.insert(SHARD_QUEUE, jobs.map((data) => ({ data: { ...data } })));
    },
    async work(concurrency, handler) {
      await boss.work<ShardJob>(
        SHARD_QUEUE,
        { batchSize: 1, localConcurrency: concurrency, pollingIntervalSeconds: 0.5 },
        async ([job]) => {
          await handler(job.data, { retryCount: job.retryCount, retryLimit, signal: job.signal });
        },
      );
    },
    async stop(graceful = true) {
      if (stopped) return;
      stopped = true;
      await boss.stop({ graceful, close: !storage.pglite, timeout: 30_000 });
    },
  };
}
