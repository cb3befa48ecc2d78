/** BENCHMARKS.md sections owned by one bench script each, kept between that script's start and end markers. */
export const BENCHMARKS_MD = new URL("../BENCHMARKS.md", import.meta.url);

/**
 * Writes `section` (which begins with `start` and ends with `end`) over the marked section of
 * BENCHMARKS.md, leaving the rest alone; a file without the markers gets it where `place` puts it
 * (default: at the end).
 */
export async function writeMarkedSection(
  section: string,
  start: string,
  end: string,
  place: (text: string, section: string) => string = (text, s) => `${text}\n${s}\n`,
): Promise<void> {
  const text = await Deno.readTextFile(BENCHMARKS_MD);
  const at = text.indexOf(start);
  const until = text.indexOf(end, at);
  const next = at >= 0 && until > at
    ? text.slice(0, at) + section + text.slice(until + end.length)
    : place(text, section);
  await Deno.writeTextFile(BENCHMARKS_MD, next);
  await formatMarkdown(BENCHMARKS_MD.pathname);
}

/**
 * The regenerated BENCHMARKS.md (`markdown`, from bench/run.ts) with what other scripts own in the
 * `previous` file: its marked sections (bench/load.ts, bench/check_profiles.ts, …) go back before
 * "## Notes", and everything from "## Mutation score" on (tools/mutation.ts and the records kept
 * after it) stays as it was.
 */
export function withOwnedSections(markdown: string, previous: string): string {
  const cut = previous.search(/\n## Mutation score\n/);
  const head = cut >= 0 ? previous.slice(0, cut) : previous;
  const tail = cut >= 0 ? previous.slice(cut) : "";
  const marked = [...head.matchAll(/<!-- (\w+):start[^>]*-->[\s\S]*?<!-- \1:end -->/g)].map((m) => m[0]);
  const body = marked.length ? markdown.replace("\n## Notes\n", `\n${marked.join("\n\n")}\n\n## Notes\n`) : markdown;
  return body.trimEnd() + "\n" + tail;
}

/** `deno fmt` with the repository's settings, so the written file keeps `deno fmt --check` clean. */
export async function formatMarkdown(path: string): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--config", new URL("../deno.json", import.meta.url).pathname, path],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno fmt ${path}: ${new TextDecoder().decode(out.stderr)}`);
}
