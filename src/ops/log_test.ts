import assert from "node:assert/strict";
import { createLogger } from "./log.ts";

Deno.test("log: one JSON line per event at or above the level; child fields; errors keep their message", () => {
  const lines: string[] = [];
  const log = createLogger({ level: "info", write: (l) => lines.push(l) }).child({ requestId: "r1" });
  log.debug("hidden");
  log.info("request", { status: 200 });
  log.error("failed", { error: new Error("boom") });
  assert.equal(lines.length, 2);
  const [info, error] = lines.map((l) => JSON.parse(l));
  assert.equal(info.level, "info");
  assert.equal(info.msg, "request");
  assert.equal(info.requestId, "r1");
  assert.equal(info.status, 200);
  assert.ok(!Number.isNaN(Date.parse(info.time)));
  assert.equal(error.error.message, "boom");
  createLogger({ level: "silent", write: (l) => lines.push(l) }).error("nothing");
  assert.equal(lines.length, 2);
});
