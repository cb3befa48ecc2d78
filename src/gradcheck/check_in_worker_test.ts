import assert from "node:assert/strict";
import { deriveGradientModel } from "../autodiff/derive.ts";
import { NotDifferentiableError } from "../autodiff/errors.ts";
import { loadFixture } from "../autodiff/testing.ts";
import { checkGradientInWorker, GradientCheckTimeoutError } from "./check_in_worker.ts";
import { checkGradient } from "./gradcheck.ts";

/** Deno's Worker as check_in_worker.ts captured it (checkGradient run in this thread replaces globalThis.Worker). */
const DenoWorker = globalThis.Worker;
const FASHION_ATAN = new URL("../../tests/fixtures/models/fashion-atan/", import.meta.url);

/** Runs `body` counting the Workers terminated meanwhile. */
async function countingTerminations(body: () => Promise<void>): Promise<number> {
  const terminate = DenoWorker.prototype.terminate;
  let terminated = 0;
  DenoWorker.prototype.terminate = function (this: Worker) {
    terminated++;
    return terminate.call(this);
  };
  try {
    await body();
  } finally {
    DenoWorker.prototype.terminate = terminate;
  }
  return terminated;
}

Deno.test("check in a Worker: the same result as checkGradient here; the caller keeps its bytes; the Worker ends", async () => {
  const f = loadFixture("conv_basic");
  const options = { inputs: 2, directions: 2 };
  let inWorker;
  const terminated = await countingTerminations(async () => {
    inWorker = await checkGradientInWorker(f.bytes, f.spec, options);
  });
  assert.equal(terminated, 1);
  const here = await checkGradient(f.bytes, f.spec, options);
  assert.deepEqual({ ...inWorker!, buildMs: 0 }, { ...here, buildMs: 0 });
  assert.equal(here.ok, true);
  assert.deepEqual(f.bytes, loadFixture("conv_basic").bytes, "the caller's bytes are not detached");
});

Deno.test("check in a Worker: a wrong gradient model fails the check as it does here", async () => {
  const f = loadFixture("conv_basic");
  const other = loadFixture("conv_depthwise");
  const gradientModel = deriveGradientModel(other.bytes, other.spec, { loss: "margin" }).bytes;
  const check = await checkGradientInWorker(f.bytes, f.spec, { gradientModel });
  assert.equal(check.ok, false);
  assert.deepEqual(check, await checkGradient(f.bytes, f.spec, { gradientModel }));
});

Deno.test("check in a Worker: errors come back as what they are (NotDifferentiableError with its nodes)", async () => {
  const bytes = await Deno.readFile(new URL("model.onnx", FASHION_ATAN));
  const manifest = JSON.parse(await Deno.readTextFile(new URL("manifest.json", FASHION_ATAN)));
  const spec = { input: manifest.input, output: manifest.output };
  const here = await checkGradient(bytes, spec).then(() => undefined, (e: unknown) => e);
  assert.ok(here instanceof NotDifferentiableError);
  await assert.rejects(checkGradientInWorker(bytes, spec), (e: unknown) => {
    assert.ok(e instanceof NotDifferentiableError);
    assert.deepEqual(e.nodes, here.nodes);
    assert.equal(e.message, here.message);
    return true;
  });
  const garbage = new Uint8Array([1, 2, 3, 4]);
  const failure = await checkGradient(garbage, spec).then(() => undefined, (e: unknown) => e as Error);
  assert.ok(failure instanceof Error);
  await assert.rejects(checkGradientInWorker(garbage, spec), (e: unknown) => {
    assert.ok(e instanceof Error && !(e instanceof NotDifferentiableError));
    assert.equal(e.name, failure.name);
    assert.equal(e.message, failure.message);
    return true;
  });
});

Deno.test("check in a Worker: abort and timeout terminate the Worker and reject", async () => {
  // A check that takes seconds: the abort and the timeout come long before it could answer.
  const f = loadFixture("mobilenet_v2_w035");
  const cancel = new AbortController();
  const reason = new Error("client gone");
  const aborted = await countingTerminations(async () => {
    const running = checkGradientInWorker(f.bytes, f.spec, { inputs: 1 }, { signal: cancel.signal });
    setTimeout(() => cancel.abort(reason), 50);
    await assert.rejects(running, (e) => e === reason);
  });
  assert.equal(aborted, 1);
  const timedOut = await countingTerminations(async () => {
    await assert.rejects(
      checkGradientInWorker(f.bytes, f.spec, { inputs: 1 }, { timeoutMs: 50 }),
      (e) => e instanceof GradientCheckTimeoutError && e.timeoutMs === 50,
    );
  });
  assert.equal(timedOut, 1);
  const before = await countingTerminations(async () => {
    await assert.rejects(
      checkGradientInWorker(f.bytes, f.spec, {}, { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
  });
  assert.equal(before, 0, "an already aborted signal spawns no Worker");
});
