import assert from "node:assert/strict";
import { withOwnedSections } from "./marked_section.ts";

Deno.test("bench --write keeps the marked sections and the tail from '## Mutation score' of the previous file", () => {
  const previous = [
    "# Benchmarks",
    "## 1. old numbers",
    "<!-- load:start (bench/load.ts --write) -->\n## Load\nload table\n<!-- load:end -->",
    "<!-- profiles:start (x) -->\n## Check profiles\nprofiles table\n<!-- profiles:end -->",
    "## Notes\nold notes",
    "## Mutation score\nmutants",
    "## Audit throughput\nkept by hand",
  ].join("\n\n") + "\n";
  const fresh = "# Benchmarks\n\n## 1. new numbers\n\n## Notes\n\nnew notes\n";
  const merged = withOwnedSections(fresh, previous);
  assert.ok(merged.includes("## 1. new numbers") && !merged.includes("old numbers") && !merged.includes("old notes"));
  const order = ["new numbers", "load table", "profiles table", "new notes", "mutants", "kept by hand"];
  const at = order.map((text) => merged.indexOf(text));
  assert.ok(at.every((i) => i >= 0), JSON.stringify(at));
  assert.deepEqual([...at].sort((a, b) => a - b), at);
  // A first run (nothing before) is the fresh file.
  assert.equal(withOwnedSections(fresh, ""), fresh);
});
