/**
 * Mutation run over kernels/, src/attacks/, src/autodiff/rules/, src/check/ and src/calibration/:
 * applies each mutant of tools/mutants.ts alone, runs its test files (`deno test --no-check`),
 * restores the file and reports killed (some test failed or timed out) or survived.
 * Score = killed / (killed + survived); a mutant whose text is not found (exactly once) is
 * "stale" — re-point it — and left out of the score.
 *
 *   nice -n 10 deno run -A tools/mutation.ts [--only=id,id] [--write] [--no-baseline] [--timeout=300]
 *   deno run -A tools/mutation.ts --list    # where each mutant applies, or STALE; changes nothing
 *
 * `--write` replaces the "## Mutation score" section at the end of BENCHMARKS.md. The original text
 * is journalled to .mutation-journal.json before a file is touched and restored on exit, on
 * SIGINT/SIGTERM/SIGHUP, and at the start of the next run if the process was killed outright.
 * Not part of CI: it takes minutes.
 *
 * Why not StrykerJS: version 9 with its command runner does work under Deno, but it generates every
 * operator mutant and, without per-test coverage, runs the whole command for each — kernels/norms.ts
 * alone gave 205 mutants in 3 min 47 s (85% killed, many equivalent, e.g. `<=` on typed-array
 * bounds); the five folders would take hours here. A curated list of realistic bugs runs in ~15 min.
 */
import { type Edit, type Mutant, MUTANTS } from "./mutants.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const JOURNAL = `${ROOT}.mutation-journal.json`;
const BENCHMARKS = `${ROOT}BENCHMARKS.md`;
const SECTION = "## Mutation score";

interface Journal {
  pid: number;
  path: string;
  original: string;
}

interface Outcome {
  mutant: Mutant;
  path: string | null;
  status: "killed" | "survived" | "stale" | "timeout";
  killers: string[];
  seconds: number;
}

const args = new Map(
  Deno.args.map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? "true"] as const;
  }),
);
const timeoutMs = Number(args.get("timeout") ?? 300) * 1000;
let child: Deno.ChildProcess | null = null;

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Puts back a file left mutated by a run that died; refuses while another run is still going. */
function restoreFromJournal(): void {
  let journal: Journal;
  try {
    journal = JSON.parse(Deno.readTextFileSync(JOURNAL));
  } catch {
    return;
  }
  if (journal.pid !== Deno.pid && alive(journal.pid)) {
    throw new Error(`another mutation run (pid ${journal.pid}) has ${journal.path} mutated; wait for it`);
  }
  Deno.writeTextFileSync(journal.path, journal.original);
  Deno.removeSync(JOURNAL);
  console.error(`restored ${journal.path} from ${JOURNAL}`);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  Deno.addSignalListener(signal, () => {
    try {
      child?.kill("SIGKILL");
    } catch { /* already gone */ }
    restoreFromJournal();
    Deno.exit(130);
  });
}

function occurrences(text: string, search: string): number {
  let n = 0;
  for (let i = text.indexOf(search); i >= 0; i = text.indexOf(search, i + 1)) n++;
  return n;
}

/**
 * Where a mutant applies: its file, or under a folder the one source file holding the text
 * exactly once; the first of `search` and then `also` that is found wins.
 */
function resolve(m: Mutant): { path: string; edit: Edit } | null {
  const target = `${ROOT}${m.file}`;
  const candidates: string[] = [];
  if (m.file.endsWith("/")) {
    const walk = (dir: string) => {
      for (const e of Deno.readDirSync(dir)) {
        const p = `${dir}${e.name}`;
        if (e.isDirectory) walk(`${p}/`);
        else if (p.endsWith(".ts") && !p.endsWith("_test.ts")) candidates.push(p);
      }
    };
    walk(target);
  } else {
    candidates.push(target);
  }
  const texts = candidates.map((p) => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return "";
    }
  });
  for (const edit of [m, ...(m.also ?? [])]) {
    const hits = candidates.filter((_, i) => occurrences(texts[i], edit.search) === 1);
    if (hits.length === 1) return { path: hits[0], edit };
  }
  return null;
}

async function runTests(files: string[]): Promise<{ ok: boolean; timedOut: boolean; failed: string[] }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-check", ...files],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  });
  child = command.spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child?.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  child = null;
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  // Deno lists failures as "<test name> => ./<file>:<line>:<col>" after "ERRORS".
  const errors = text.split("\n ERRORS \n")[1] ?? text.split("ERRORS")[1] ?? "";
  const failed = [
    ...new Set(
      errors.split("\n").map((l) => l.match(/^(.+) => \.\/(\S+):\d+:\d+$/)).filter((m) => m !== null).map((m) =>
        `${m![2]}: ${m![1]}`
      ),
    ),
  ];
  return { ok: out.success, timedOut, failed };
}

async function runMutant(m: Mutant): Promise<Outcome> {
  const started = performance.now();
  const at = resolve(m);
  if (!at) return { mutant: m, path: null, status: "stale", killers: [], seconds: 0 };
  const { path, edit } = at;
  const original = await Deno.readTextFile(path);
  await Deno.writeTextFile(JOURNAL, JSON.stringify({ pid: Deno.pid, path, original } satisfies Journal));
  try {
    await Deno.writeTextFile(path, original.replace(edit.search, edit.replace));
    const r = await runTests(m.tests);
    const status = r.timedOut ? "timeout" : r.ok ? "survived" : "killed";
    return { mutant: m, path, status, killers: r.failed, seconds: (performance.now() - started) / 1000 };
  } finally {
    await Deno.writeTextFile(path, original);
    await Deno.remove(JOURNAL);
  }
}

function markdown(outcomes: Outcome[], seconds: number): string {
  const killed = outcomes.filter((o) => o.status === "killed" || o.status === "timeout").length;
  const survived = outcomes.filter((o) => o.status === "survived");
  const stale = outcomes.filter((o) => o.status === "stale");
  const score = killed / Math.max(1, killed + survived.length);
  const rel = (p: string | null) => (p ?? "").replace(ROOT, "");
  const lines = [
    SECTION,
    "",
    `Generated by \`nice -n 10 deno run -A tools/mutation.ts --write\` on ${new Date().toISOString().slice(0, 10)} ` +
    `(${seconds.toFixed(0)} s): **${killed} of ${killed + survived.length} mutants killed, score ` +
    `${(100 * score).toFixed(1)}%**${stale.length ? `, ${stale.length} stale (text not found: re-point them)` : ""}. ` +
    "Each mutant of tools/mutants.ts is applied alone and only its listed test files run (not the slow " +
    "src/attacks/reference_test.ts). Keep the score above 90% as the code grows.",
    "",
    `Survivors: ${survived.length ? survived.map((o) => `\`${o.mutant.id}\``).join(", ") : "none"}.`,
    "",
    "| mutant | file | result | first failing test |",
    "| ------ | ---- | ------ | ------------------ |",
    ...outcomes.map((o) =>
      `| ${o.mutant.id}${o.mutant.issue ? " (issue 15)" : ""} | ${rel(o.path) || o.mutant.file} | ${o.status} | ${
        (o.killers[0] ?? "").replaceAll("|", "\\|")
      }${o.killers.length > 1 ? ` (+${o.killers.length - 1} more)` : ""} |`
    ),
    "",
  ];
  return lines.join("\n");
}

async function writeSection(section: string): Promise<void> {
  const text = await Deno.readTextFile(BENCHMARKS);
  const at = text.indexOf(`\n${SECTION}\n`);
  const head = at >= 0 ? text.slice(0, at + 1) : `${text.trimEnd()}\n\n`;
  await Deno.writeTextFile(BENCHMARKS, head + section);
  await new Deno.Command(Deno.execPath(), { args: ["fmt", BENCHMARKS], cwd: ROOT }).output();
}

async function main(): Promise<void> {
  const only = args.get("only")?.split(",");
  const selected = only ? MUTANTS.filter((m) => only.includes(m.id)) : MUTANTS;
  if (only && selected.length !== only.length) throw new Error(`unknown mutant in --only=${only.join(",")}`);
  if (args.get("list") === "true") {
    for (const m of selected) console.log(`${m.id}: ${resolve(m)?.path.replace(ROOT, "") ?? "STALE (re-point it)"}`);
    return;
  }
  restoreFromJournal();
  const started = performance.now();
  if (args.get("no-baseline") !== "true") {
    const files = [...new Set(selected.flatMap((m) => m.tests))];
    console.error(`baseline: ${files.length} test files unmutated …`);
    const base = await runTests(files);
    if (!base.ok) throw new Error(`the unmutated tests fail, fix them first: ${base.failed.join("; ")}`);
  }
  const outcomes: Outcome[] = [];
  for (const [i, m] of selected.entries()) {
    const o = await runMutant(m);
    outcomes.push(o);
    console.error(
      `[${i + 1}/${selected.length}] ${m.id}: ${o.status} (${o.seconds.toFixed(1)} s)${
        o.killers[0] ? ` by ${o.killers[0]}` : ""
      }`,
    );
  }
  const section = markdown(outcomes, (performance.now() - started) / 1000);
  console.log(section);
  if (args.get("write") === "true") await writeSection(section);
}

if (import.meta.main) await main();
