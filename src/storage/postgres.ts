// @ts-types="@types/pg"
import pg from "pg";
import type { SqlClient } from "./sql.ts";

export interface PostgresClient extends SqlClient {
  /** The URL it connected with, e.g. for pg-boss's `connectionString`. */
  readonly url: string;
}

/** A connection pool on a PostgreSQL server; any number of processes may share the database. */
export async function openPostgres(url: string, options: { maxConnections?: number } = {}): Promise<PostgresClient> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on("error", (error) => console.error(`postgres: ${error.message}`));
  const probe = await pool.connect().catch((error: Error) => {
    throw new Error(`cannot connect to ROBUSTCHECK_DATABASE_URL (${redact(url)}): ${error.message}`);
  });
  probe.release();
  const listeners: pg.Client[] = [];
  return {
    url,
    async query<Row>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as Row[];
    },
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({
          query: async <Row>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as Row[],
        });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify) {
      // LISTEN needs a connection of its own: pooled ones are handed to other queries.
      const client = new pg.Client({ connectionString: url });
      client.on("error", (error) => console.error(`postgres listener on ${channel}: ${error.message}`));
      client.on("notification", (message) => message.channel === channel && onNotify(message.payload ?? ""));
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      listeners.push(client);
    },
    async close() {
      await Promise.all(listeners.map((client) => client.end().catch(() => {})));
      await pool.end();
    },
  };
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}
