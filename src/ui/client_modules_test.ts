import assert from "node:assert/strict";
import { CLIENT_MODULES, clientModule } from "./client_modules.ts";

Deno.test("ui client: the modules type-check with the DOM lib against the server's report types", async () => {
  const entry = new URL("./client/app.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const checked = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--config", config, entry],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(checked.code, 0, new TextDecoder().decode(checked.stderr));
});

Deno.test("ui client: every module transpiles to JavaScript whose imports are servable .js modules", async () => {
  const files = [...Deno.readDirSync(new URL("./client/", import.meta.url))].map((e) => e.name.replace(/\.ts$/, ""));
  assert.deepEqual([...CLIENT_MODULES].sort(), files.sort(), "CLIENT_MODULES lists exactly the files in client/");
  for (const name of CLIENT_MODULES) {
    const js = await clientModule(name);
    assert.doesNotMatch(js, /\bimport type\b|: (string|number|boolean)\b|\binterface \w+ \{/, name);
    for (const [, spec] of js.matchAll(/\bfrom "([^"]+)"/g)) {
      const imported = spec.match(/^\.\/([a-z_]+)\.js$/)?.[1];
      assert.ok(imported && CLIENT_MODULES.has(imported), `${name}.js imports ${spec}, which /ui/ does not serve`);
    }
    assert.equal(await clientModule(name), js, "compiled once, then cached");
  }
  await assert.rejects(() => clientModule("../page"), RangeError);
});
