/**
 * `deno task bench:load [--write] [--seconds=N] [--route=predict|check]`
 *
 * Load over loopback against an in-process server with the shipped fashion-cnn: throughput and p50/p99 latency at 1, 8
 * and 64 concurrent clients (closed loop: each client sends its next request when the last one answered), and the
 * shed rate past capacity (64 clients against 2 slots + a queue of 8: the share answered 503 `overloaded`, and how fast
 * those answers came). Bounded: N seconds per row (default 10), loopback only. `--write` replaces the "Load" section
 * of BENCHMARKS.md (between its markers) and leaves the rest of the file alone.
 */
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";
import { loadAverage } from "./machine.ts";
import { ms, quantile } from "./stats.ts";
import { markdownTable } from "./table.ts";
import { writeMarkedSection } from "./marked_section.ts";

const START = "<!-- load:start (bench/load.ts --write) -->";
const END = "<!-- load:end -->";
/** A light check: what a client of /check typically asks for, in tens of milliseconds. */
const LIGHT_CHECK = { randomization: { draws: 4, eot: false }, pgd: [{ eps: 0.1, steps: 5 }], minimalEpsilon: false };

interface Row {
  clients: number;
  capacity: string;
  requests: number;
  perSecond: number;
  ok: number;
  shed: number;
  p50: number;
  p99: number;
  shedP99: number;
}

function parseArgs(argv: string[]): { write: boolean; seconds: number; route: "predict" | "check" } {
  const args = { write: false, seconds: 10, route: "predict" as "predict" | "check" };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    if (key === "write") args.write = true;
    else if (key === "seconds" && Number(value) > 0) args.seconds = Math.min(120, Number(value));
    else if (key === "route" && (value === "predict" || value === "check")) args.route = value;
    else throw new Error(`unknown argument ${arg} (use --write, --seconds=N, --route=predict|check)`);
  }
  return args;
}

async function run(clients: number, seconds: number, send: () => Promise<Response>): Promise<Omit<Row, "capacity">> {
  const okMs: number[] = [];
  const shedMs: number[] = [];
  const end = performance.now() + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const start = performance.now();
      const response = await send();
      await response.body?.cancel();
      (response.status === 503 ? shedMs : okMs).push(performance.now() - start);
      if (response.status !== 200 && response.status !== 503) throw new Error(`unexpected ${response.status}`);
    }
  }));
  const requests = okMs.length + shedMs.length;
  return {
    clients,
    requests,
    perSecond: okMs.length / seconds,
    ok: okMs.length,
    shed: shedMs.length / Math.max(1, requests),
    p50: quantile(okMs, 0.5),
    p99: quantile(okMs, 0.99),
    shedP99: quantile(shedMs, 0.99),
  };
}

async function measure(args: ReturnType<typeof parseArgs>): Promise<{ rows: Row[]; load: string[] }> {
  const image = await Deno.readFile(new URL("../tests/fixtures/fashion/0000.png", import.meta.url));
  const data = await Deno.makeTempDir();
  const rows: Row[] = [];
  const load = [await loadAverage()];
  const scenarios = [
    { clients: 1, inFlight: 64, queue: 64 },
    { clients: 8, inFlight: 64, queue: 64 },
    { clients: 64, inFlight: 64, queue: 64 },
    { clients: 64, inFlight: 2, queue: 8 },
  ];
  try {
    for (const s of scenarios) {
      const server = await startServer(
        loadConfig({
          ...Deno.env.toObject(),
          ROBUSTCHECK_MODELS_DIR: new URL("../models/", import.meta.url).pathname,
          PORT: "0",
          HOSTNAME: "127.0.0.1",
          ROBUSTCHECK_DATA_DIR: `${data}/data-${rows.length}`,
          ROBUSTCHECK_MAX_IN_FLIGHT: String(s.inFlight),
          ROBUSTCHECK_MAX_QUEUE: String(s.queue),
          ROBUSTCHECK_LOG_LEVEL: "warn",
        }),
        () => {},
      );
      const url = `http://127.0.0.1:${server.port}/v1/models/fashion-cnn/${args.route}`;
      const send = args.route === "predict"
        ? () => fetch(url, { method: "POST", headers: { "content-type": "image/png" }, body: image })
        : () => {
          const form = new FormData();
          form.append("image", new Blob([image], { type: "image/png" }));
          form.append("options", JSON.stringify(LIGHT_CHECK));
          return fetch(url, { method: "POST", body: form });
        };
      try {
        await run(1, 1, send); // warm-up
        rows.push({ ...(await run(s.clients, args.seconds, send)), capacity: `${s.inFlight} + ${s.queue} queued` });
      } finally {
        await server.shutdown();
      }
    }
  } finally {
    await Deno.remove(data, { recursive: true });
  }
  load.push(await loadAverage());
  return { rows, load };
}

function render(rows: Row[], load: string[], args: ReturnType<typeof parseArgs>): string {
  const table = markdownTable(
    ["clients", "capacity (running + queued)", "answered 200/s", "p50 ms", "p99 ms", "shed (503)", "503 p99 ms"],
    rows.map((r) => [
      String(r.clients),
      r.capacity,
      r.perSecond.toFixed(1),
      ms(r.p50),
      ms(r.p99),
      `${(r.shed * 100).toFixed(1)} %`,
      r.shed > 0 ? ms(r.shedP99) : "–",
    ]),
  );
  return [
    START,
    "## Load",
    "",
    `\`deno task bench:load${
      args.write ? " --write" : ""
    }\` (bench/load.ts): POST \`/v1/models/fashion-cnn/${args.route}\` ` +
    `over loopback, closed-loop clients, ${args.seconds} s per row, ${new Date().toISOString()}; load average ` +
    `(1/5/15 min) at start ${load[0]}, at end ${load[1]}. Latencies are of 200 answers; the last row is past ` +
    "capacity, where the 503s must come back fast.",
    "",
    table,
    END,
  ].join("\n");
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const { rows, load } = await measure(args);
  const section = render(rows, load, args);
  console.log(section);
  if (args.write) await writeMarkedSection(section, START, END);
}
