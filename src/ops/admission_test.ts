import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import { Admission } from "./admission.ts";

Deno.test("admission: slots, then a FIFO queue, then 503 overloaded with Retry-After; released slots pass on", async () => {
  let rejected = 0;
  const admission = new Admission({ maxInFlight: 2, maxQueue: 1 }, { rejected: () => rejected++ });
  const a = await admission.acquire();
  const b = await admission.acquire();
  const waiting = admission.acquire();
  assert.equal(admission.queued, 1);
  await assert.rejects(admission.acquire(), (e) => {
    assert.ok(e instanceof RequestError);
    assert.equal(e.status, 503);
    assert.equal(e.code, "overloaded");
    assert.ok(Number(e.headers["retry-after"]) >= 1);
    return true;
  });
  assert.equal(rejected, 1);
  a();
  a(); // a second release is a no-op
  const c = await waiting;
  assert.equal(admission.inFlight, 2);
  assert.equal(admission.queued, 0);
  b();
  c();
  assert.equal(admission.inFlight, 0);
});

Deno.test("admission: a waiter whose signal aborts leaves the queue with the signal's reason", async () => {
  const admission = new Admission({ maxInFlight: 1, maxQueue: 4 });
  const hold = await admission.acquire();
  const cancel = new AbortController();
  const waiting = admission.acquire(cancel.signal);
  const next = admission.acquire();
  cancel.abort(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  assert.equal(admission.queued, 1);
  hold();
  (await next)();
  assert.equal(admission.inFlight, 0);
  await assert.rejects(admission.acquire(cancel.signal), /gone/);
});
