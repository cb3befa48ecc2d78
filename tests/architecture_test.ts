/**
 * The folder rules of docs/ARCHITECTURE.md, read from the source: every relative import in src/ and
 * kernels/ (tests excluded: a test may reach across folders) is an edge between folders — `kernels`,
 * `src/<folder>` (subfolders belong to their folder) or a file at the top of src/.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

interface Edge {
  from: string;
  to: string;
  file: string;
  specifier: string;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name) && !/[._]test\.tsx?$/.test(entry.name)) yield path;
  }
}

/** Every module specifier of static imports, re-exports and dynamic imports with a literal. */
export function importSpecifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /new URL\(\s*["'](\.[^"']+\.ts)["']\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]);
  return found;
}

/** `kernels`, `src/<folder>`, or `src/<file>.ts` for the top-level files of src/. */
export function folderOf(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "kernels") return "kernels";
  if (parts[0] === "src") return parts.length > 2 ? `src/${parts[1]}` : path;
  return path;
}

async function edges(): Promise<Edge[]> {
  const out: Edge[] = [];
  for (const dir of ["src", "kernels"]) {
    for await (const file of sourceFiles(dir)) {
      const source = await Deno.readTextFile(join(ROOT, file));
      for (const specifier of importSpecifiers(source)) {
        if (!specifier.startsWith(".")) continue;
        const target = relative(ROOT, join(ROOT, dirname(file), specifier));
        const from = folderOf(file);
        const to = folderOf(target);
        if (from !== to) out.push({ from, to, file, specifier });
      }
    }
  }
  return out;
}

/** Strongly connected components with more than one folder (Tarjan). */
export function folderCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    indices.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return cycles;
}

const all = await edges();
const describe = (list: Edge[]) => list.map((e) => `${e.file} imports ${e.specifier}`).join("\n");

Deno.test("architecture: the import parser sees static, type, re-export and dynamic imports", () => {
  const source = [
    'import { a } from "./a.ts";',
    "import type {\n  B,\n  C,\n} from '../b/b.ts';",
    'export { d } from "./d.ts";',
    'const e = await import("./e.ts");',
    'new Worker(new URL("./f.ts", import.meta.url));',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source).sort(), ["../b/b.ts", "./a.ts", "./d.ts", "./e.ts", "./f.ts"]);
  assert.equal(folderOf("src/http/routes/check.ts"), "src/http");
  assert.equal(folderOf("src/errors.ts"), "src/errors.ts");
  assert.equal(folderOf("kernels/rng.ts"), "kernels");
  const graph = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])], ["d", new Set(["a"])]]);
  assert.deepEqual(folderCycles(graph), [["a", "b", "c"]]);
});

Deno.test("architecture: the folder graph has no import cycles", () => {
  const graph = new Map<string, Set<string>>();
  for (const e of all) {
    if (!graph.has(e.from)) graph.set(e.from, new Set());
    graph.get(e.from)!.add(e.to);
  }
  const cycles = folderCycles(graph);
  const detail = cycles.map((c) => describe(all.filter((e) => c.includes(e.from) && c.includes(e.to))));
  assert.deepEqual(cycles, [], `folder cycles:\n${detail.join("\n\n")}`);
});

Deno.test("architecture: nothing below src/http imports src/http (only the server that mounts it does)", () => {
  const upward = all.filter((e) => e.to === "src/http" && e.from !== "src/server.ts");
  assert.deepEqual(upward, [], describe(upward));
});

Deno.test("architecture: kernels import only kernels, and src/model imports nothing from src/", () => {
  const kernels = all.filter((e) => e.from === "kernels");
  assert.deepEqual(kernels, [], describe(kernels));
  const model = all.filter((e) => e.from === "src/model");
  assert.deepEqual(model, [], describe(model));
});

Deno.test("architecture: the server's main thread never loads onnxruntime (it runs in Workers)", async () => {
  // Worker scripts are started by URL, so they are not in an entry point's module graph; onnxruntime-web run on the
  // main thread would block the event loop for the whole run and replace globalThis.Worker.
  for (const entry of ["main.ts", "worker.ts"]) {
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: ROOT,
      stdout: "piped",
      stderr: "null",
    }).output();
    assert.ok(success, `deno info ${entry} failed`);
    const { modules } = JSON.parse(new TextDecoder().decode(stdout)) as { modules: { specifier: string }[] };
    assert.ok(modules.some((m) => m.specifier.endsWith("/src/registry/validate_upload.ts")), `${entry}: graph read`);
    const loaded = modules.map((m) => m.specifier).filter((s) =>
      /onnxruntime-(web|node)|src\/gradcheck\/gradcheck\.ts$/.test(s)
    );
    assert.deepEqual(loaded, [], `${entry} loads on its main thread: ${loaded.join(", ")}`);
  }
});
