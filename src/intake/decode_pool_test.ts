import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import { DecodePool } from "./decode_pool.ts";
import { greyPng } from "./testdata/craft.ts";

const spec = { channels: 1 as const, height: 4, width: 4 };

Deno.test("decode pool: at most `size` images decode at once; results come back in order; failures are RequestErrors", async () => {
  const pool = new DecodePool(2);
  try {
    const jobs = [1, 2, 3, 4, 5].map((v) =>
      pool.decode({ bytes: greyPng(4, 4, { value: () => v * 40 }), maxPixels: 1e6, spec })
    );
    assert.equal(pool.queued, 3, "two running, three waiting");
    const results = await Promise.all(jobs);
    assert.deepEqual(results.map((r) => Math.round(r.pixels[0] * 255)), [40, 80, 120, 160, 200]);
    assert.deepEqual(results[0].source, { format: "png", width: 4, height: 4, bitDepth: 8, resized: false });
    const bad = greyPng(4, 4).subarray(0, 40);
    await assert.rejects(
      pool.decode({ bytes: bad, maxPixels: 1e6, spec }),
      (e) => e instanceof RequestError && e.status === 422 && e.code === "undecodable_image",
    );
    await assert.rejects(
      pool.decode({ bytes: greyPng(40, 40), maxPixels: 100, spec }),
      (e) => e instanceof RequestError && e.status === 413,
    );
    const after = await pool.decode({ bytes: greyPng(8, 8), maxPixels: 1e6, spec });
    assert.equal(after.source.resized, true);
  } finally {
    pool.close();
  }
});

Deno.test("decode pool: images whose signal aborts are dropped, waiting or running; the pool keeps working", async () => {
  const pool = new DecodePool(1);
  try {
    const cancel = new AbortController();
    const first = pool.decode({ bytes: greyPng(64, 64), maxPixels: 1e6, spec }, cancel.signal);
    const waiting = pool.decode({ bytes: greyPng(64, 64), maxPixels: 1e6, spec }, cancel.signal);
    cancel.abort(new Error("stop"));
    await assert.rejects(first, /stop/, "running: its Worker is replaced");
    await assert.rejects(waiting, /stop/);
    assert.equal(pool.queued, 0);
    await assert.rejects(pool.decode({ bytes: greyPng(4, 4), maxPixels: 1e6, spec }, cancel.signal), /stop/);
    const after = await pool.decode({ bytes: greyPng(4, 4, { value: () => 200 }), maxPixels: 1e6, spec });
    assert.equal(Math.round(after.pixels[0] * 255), 200);
  } finally {
    pool.close();
  }
});
