import type { SqlClient } from "./sql.ts";

export interface Migration {
  version: number;
  name: string;
  /** One statement per entry (PGlite's parameterised protocol runs one at a time). */
  statements: string[];
}

/** The schema, in order. Never edit an applied migration: append a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "calibrations, models, model versions, blob chunks",
    statements: [
      `CREATE TABLE calibrations (
        model_id text NOT NULL,
        sha256 text NOT NULL,
        calibration jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_id, sha256)
      )`,
      // One row per uploaded model id: its label set is fixed, versions are numbered from next_version.
      `CREATE TABLE models (
        id text PRIMARY KEY,
        labels jsonb NOT NULL,
        next_version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE model_versions (
        key bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        model_id text NOT NULL REFERENCES models (id),
        version integer NOT NULL,
        sha256 text NOT NULL,
        bytes bigint NOT NULL,
        manifest jsonb NOT NULL,
        inspection jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (model_id, version)
      )`,
      `CREATE INDEX model_versions_sha256 ON model_versions (sha256)`,
      // Model bytes in PostgreSQL mode, in bounded chunks (embedded mode keeps files instead).
      `CREATE TABLE blob_chunks (
        sha256 text NOT NULL,
        part integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (sha256, part)
      )`,
    ],
  },
  {
    version: 2,
    name: "datasets, audits, audit shard results",
    statements: [
      // A dataset as uploaded: its bytes are a content-addressed blob (blobs.ts), never a bytea here.
      `CREATE TABLE datasets (
        sha256 text PRIMARY KEY,
        format text NOT NULL,
        blob_sha256 text,
        builtin text,
        bytes bigint NOT NULL,
        images integer NOT NULL,
        counts jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE audits (
        id text PRIMARY KEY,
        model_id text NOT NULL,
        model_version integer,
        model_sha256 text NOT NULL,
        dataset_sha256 text NOT NULL REFERENCES datasets (sha256),
        plan jsonb NOT NULL,
        images integer NOT NULL,
        shards integer NOT NULL,
        cancelled boolean NOT NULL DEFAULT false,
        error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      )`,
      // One row per (audit, shard), written once: a shard delivered twice keeps its first row.
      `CREATE TABLE audit_shards (
        audit_id text NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
        shard integer NOT NULL,
        images integer NOT NULL,
        result jsonb NOT NULL,
        worker text NOT NULL,
        ms double precision NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (audit_id, shard)
      )`,
    ],
  },
];

/** Any constant works as long as every robustcheck process uses the same one. */
const MIGRATION_LOCK = 7_300_900_001;

/**
 * Applies the pending migrations in one transaction under an advisory lock, so processes that
 * start together apply each migration once and the others wait, then see it applied.
 * Returns the versions applied by this call.
 */
export async function migrate(sql: SqlClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return await sql.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>("SELECT version FROM schema_migrations");
    const applied = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...applied);
    const known = Math.max(0, ...migrations.map((m) => m.version));
    if (newest > known) {
      throw new Error(
        `the database schema is at version ${newest}, newer than this robustcheck knows (${known}); upgrade it`,
      );
    }
    const done: number[] = [];
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    return done;
  });
}
