/** One sample of a Prometheus text exposition, e.g. `robustcheck_session_runs_total` or `x{reason="y"}` (0 if absent). */
export async function metricValue(baseUrl: string, series: string, headers: HeadersInit = {}): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`, { headers })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Polls `condition` every 50 ms until it holds, or fails after `timeoutMs` naming `what`. */
export async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
