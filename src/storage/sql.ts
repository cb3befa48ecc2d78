/**
 * The one SQL interface the storage modules are written against. PGlite (embedded) and
 * PostgreSQL (by URL) implement it; queries use `$1`-style parameters and run unchanged on both.
 */
export interface SqlClient {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Runs `work` in one transaction on one connection; it commits when `work` resolves. */
  transaction<T>(work: (tx: SqlQuery) => Promise<T>): Promise<T>;
  /**
   * Calls `onNotify` for every NOTIFY on `channel` (from any process on the database) until the
   * client closes. Best effort: callers still poll, in case the listening connection drops.
   */
  listen(channel: string, onNotify: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}

/** What a transaction body may do. */
export type SqlQuery = Pick<SqlClient, "query">;
