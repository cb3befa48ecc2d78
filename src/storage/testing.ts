/**
 * Test support: a fresh PGlite data directory costs seconds (initdb in WASM) and hundreds of MB,
 * while copying an initialised, migrated one costs a fraction of a second. So each test process
 * builds one template directory and hands out copies.
 */
import { cp } from "node:fs/promises";
import { openStorage } from "./open.ts";
import { openPostgres } from "./postgres.ts";

let template: Promise<string> | undefined;

function buildTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "robustcheck-template-" });
    await (await openStorage({ dataDir: dir })).close();
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    return dir;
  })();
  return template;
}

/** A new data directory holding an empty, migrated PGlite database; the caller removes it. */
export async function freshDataDir(): Promise<string> {
  const source = await buildTemplate();
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-data-" });
  await cp(source, dir, { recursive: true });
  return dir;
}

/** A fresh schema on the test server and a URL whose connections use it. */
export async function isolatedSchema(baseUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `test_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = await openPostgres(baseUrl, { maxConnections: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = new URL(baseUrl);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    url: url.toString(),
    async drop() {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}
