/**
 * `deno task bench:profiles [--write] [--images=N]`
 *
 * Latency of each check profile (README "Check profiles") per shipped model and backend (wasm, native): p50/p95 of the
 * HTTP round trip of `POST /v1/models/{id}/check` with `{profile}` only, over loopback against in-process servers
 * (bench/check_latency.ts starts them), N fixture images each (default 10) after one warm-up image, profiles
 * interleaved image by image so that load drift hits them alike. `--write` replaces the "Check profiles" section of
 * BENCHMARKS.md (between its markers; inserted before "## Notes" the first time) and leaves the rest alone.
 */
import { PROFILES } from "../src/check/options.ts";
import { startServers, stopServers } from "./check_latency.ts";
import { THREADS } from "./gradient_cost.ts";
import { loadAverage } from "./machine.ts";
import { SHIPPED } from "./models.ts";
import { ms, quantile } from "./stats.ts";
import { markdownTable } from "./table.ts";

const BENCHMARKS_MD = new URL("../BENCHMARKS.md", import.meta.url);
const FIXTURES = new URL("../tests/fixtures/", import.meta.url).pathname;
const START = "<!-- profiles:start (bench/check_profiles.ts --write) -->";
const END = "<!-- profiles:end -->";

interface Row {
  model: string;
  backend: string;
  profile: string;
  cost: number;
  images: number;
  p50: number;
  p95: number;
}

function parseArgs(argv: string[]): { write: boolean; images: number } {
  const args = { write: false, images: 10 };
  for (const arg of argv) {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    if (key === "write") args.write = true;
    else if (key === "images" && Number(value) >= 1) args.images = Math.min(30, Math.floor(Number(value)));
    else throw new Error(`unknown argument ${arg} (use --write, --images=N)`);
  }
  return args;
}

async function check(url: string, bytes: Uint8Array, profile: string): Promise<{ ms: number; cost: number }> {
  const start = performance.now();
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ image: bytes.toBase64(), options: { profile } }),
  });
  const body = await response.json();
  const elapsed = performance.now() - start;
  if (!response.ok) throw new Error(`${url} ${profile}: HTTP ${response.status} ${JSON.stringify(body)}`);
  return { ms: elapsed, cost: body.cost.estimated };
}

async function measure(images: number, notes: string[]): Promise<Row[]> {
  const servers = await startServers(
    [{ backend: "wasm", threads: THREADS }, { backend: "native", threads: THREADS }],
    notes,
  );
  const rows: Row[] = [];
  try {
    for (const model of SHIPPED) {
      const dir = `${FIXTURES}${model.fixtures}/`;
      const labels: { file: string }[] = JSON.parse(await Deno.readTextFile(`${dir}labels.json`));
      const files = await Promise.all(labels.slice(0, images + 1).map((l) => Deno.readFile(`${dir}${l.file}`)));
      for (const server of servers) {
        const url = `${server.url}/v1/models/${model.id}/check`;
        const times = new Map<string, number[]>(PROFILES.map((p) => [p, []]));
        const costs = new Map<string, number>();
        for (const p of PROFILES) await check(url, files[images], p); // warm-up, not measured
        for (const bytes of files.slice(0, images)) {
          for (const p of PROFILES) {
            const r = await check(url, bytes, p);
            times.get(p)!.push(r.ms);
            costs.set(p, r.cost);
          }
        }
        for (const p of PROFILES) {
          const t = times.get(p)!;
          rows.push({
            model: model.id,
            backend: server.name,
            profile: p,
            cost: costs.get(p)!,
            images: t.length,
            p50: quantile(t, 0.5),
            p95: quantile(t, 0.95),
          });
        }
      }
    }
  } finally {
    await stopServers(servers);
  }
  return rows;
}

function render(rows: Row[], load: string[], args: ReturnType<typeof parseArgs>, notes: string[]): string {
  const table = markdownTable(
    ["model", "backend", "profile", "cost (forward passes)", "images", "p50 ms", "p95 ms"],
    rows.map((r) => [r.model, r.backend, r.profile, String(r.cost), String(r.images), ms(r.p50), ms(r.p95)]),
  );
  return [
    START,
    "## Check profiles",
    "",
    `\`deno task bench:profiles${args.write ? " --write" : ""} --images=${args.images}\` (bench/check_profiles.ts): ` +
    "`POST /v1/models/{id}/check` with `{profile}` only over loopback, HTTP round trip, profiles interleaved image " +
    `by image, ${new Date().toISOString()}; load average (1/5/15 min) at start ${load[0]}, at end ${load[1]}.`,
    "",
    table,
    ...(notes.length ? ["", ...notes.map((n) => `- ${n}`)] : []),
    "",
    END,
  ].join("\n");
}

async function write(section: string): Promise<void> {
  const text = await Deno.readTextFile(BENCHMARKS_MD);
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const next = start >= 0 && end > start
    ? text.slice(0, start) + section + text.slice(end + END.length)
    : text.replace("\n## Notes\n", `\n${section}\n\n## Notes\n`);
  await Deno.writeTextFile(BENCHMARKS_MD, next);
}

if (import.meta.main) {
  const args = parseArgs(Deno.args);
  const notes: string[] = [];
  const load = [await loadAverage()];
  const rows = await measure(args.images, notes);
  load.push(await loadAverage());
  const section = render(rows, load, args, notes);
  console.log(section);
  if (args.write) await write(section);
}
