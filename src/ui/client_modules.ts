/**
 * The page's client code: TypeScript modules in ./client/, type-checked by `deno check` (DOM lib) and turned
 * into JavaScript here, on the first request for each, with the `typescript` npm package's transpileModule
 * (pure JavaScript: no native binary, so it runs wherever the service runs, Deno Deploy included). Types
 * are only erased; relative `./x.ts` imports become `./x.js`, which this module serves too.
 */
const CLIENT_DIR = new URL("./client/", import.meta.url);

/** The modules the browser may ask for (anything else under /ui/ is a 404). */
export const CLIENT_MODULES: ReadonlySet<string> = new Set(["app", "api", "audits", "charts", "render"]);

type Ts = typeof import("typescript");
let compiler: Promise<Ts> | null = null;
const emitted = new Map<string, Promise<string>>();

/** JavaScript for one client module; compiled once per process. */
export function clientModule(name: string): Promise<string> {
  if (!CLIENT_MODULES.has(name)) return Promise.reject(new RangeError(`no client module ${name}`));
  let js = emitted.get(name);
  if (!js) {
    js = compile(name);
    emitted.set(name, js);
    js.catch(() => emitted.delete(name));
  }
  return js;
}

async function compile(name: string): Promise<string> {
  compiler ??= import("typescript").then((m) => (m.default ?? m) as Ts);
  const ts = await compiler;
  const source = await Deno.readTextFile(new URL(`${name}.ts`, CLIENT_DIR));
  const { outputText } = ts.transpileModule(source, {
    fileName: `${name}.ts`,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: true,
    },
  });
  return outputText;
}
