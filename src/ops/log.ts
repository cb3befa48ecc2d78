/**
 * Structured logs: one JSON object per line ({time, level, msg, ...fields}) on stdout. A few lines of our own rather
 * than a logging library: we need levels, fields and child loggers and nothing else (no transports, no worker
 * threads), and it must run unchanged in Deno and in tests that capture lines.
 */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = typeof LOG_LEVELS[number];
type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
}

export function createLogger(options: { level: LogLevel; write?: (line: string) => void; fields?: Fields }): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level);
  const write = options.write ?? ((line: string) => console.log(line));
  const base = options.fields ?? {};
  const at = (level: Exclude<LogLevel, "silent">) => (msg: string, fields: Fields = {}) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...base, ...fields }, errorsAsText));
  };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** Errors serialise to their message and stack instead of `{}`. */
function errorsAsText(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message, stack: value.stack } : value;
}
