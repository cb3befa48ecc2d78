import assert from "node:assert/strict";
import { grants, loadApiKeys, sha256Hex } from "./api_keys.ts";

Deno.test("api keys: found by the hash of the presented key; scopes; admin grants all; bad files name the field", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/keys.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ keys: [{ id: "ci", sha256: (await sha256Hex("s3cret")).toUpperCase(), scopes: ["check"] }] }),
    );
    const keys = await loadApiKeys(path, 60);
    assert.equal(keys.size, 1);
    const key = await keys.find("s3cret");
    assert.equal(key?.id, "ci");
    assert.equal(key?.ratePerMinute, 60);
    assert.equal(await keys.find("s3cret "), undefined);
    assert.ok(grants(key!.scopes, "check"));
    assert.ok(!grants(key!.scopes, "write"));
    assert.ok(grants(new Set(["admin"]), "write"));
    await Deno.writeTextFile(path, JSON.stringify({ keys: [{ id: "x", sha256: "abc", scopes: ["check"] }] }));
    await assert.rejects(loadApiKeys(path, 60), /keys\.0\.sha256/);
    assert.equal((await loadApiKeys(undefined, 60)).size, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
