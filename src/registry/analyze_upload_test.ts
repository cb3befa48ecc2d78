import assert from "node:assert/strict";
import { decodeModel, encodeModel } from "../autodiff/proto.ts";
import { loadFixture } from "../autodiff/testing.ts";
import { AnalysisTimeoutError, analyzeInWorker } from "./analyze_in_worker.ts";
import { analyzeUpload } from "./analyze_upload.ts";

Deno.test("upload analysis: in its Worker the same verdict as here, for a model and for bytes that are none", async () => {
  const f = loadFixture("conv_basic");
  const here = analyzeUpload(f.bytes, f.spec);
  assert.equal(here.ok, true);
  assert.deepEqual(await analyzeInWorker(f.bytes, f.spec), here);
  assert.equal(f.bytes.byteLength > 0, true, "the caller's bytes are not detached");
  const garbage = new TextEncoder().encode("not a model at all");
  const refused = analyzeUpload(garbage, f.spec);
  assert.equal(refused.ok === false && refused.stage === "decode" && refused.code, "invalid_onnx");
  assert.deepEqual(await analyzeInWorker(garbage, f.spec), refused);
});

Deno.test("upload analysis: an opset out of range is refused at the decode stage, a wrong spec at the analysis", () => {
  const f = loadFixture("conv_basic");
  const model = decodeModel(f.bytes);
  for (const o of model.opset_import) if (!o.domain) o.version = 3;
  const old = analyzeUpload(encodeModel(model), f.spec);
  assert.equal(old.ok === false && old.stage === "decode" && old.code, "unsupported_opset");
  assert.match(!old.ok ? old.message : "", /^model: opset 3 is outside the supported range/);
  const wrongInput = analyzeUpload(f.bytes, { ...f.spec, input: { ...f.spec.input, name: "nope" } });
  assert.equal(wrongInput.ok === false && wrongInput.stage, "analysis");
  assert.match(!wrongInput.ok ? wrongInput.message : "", /^model: cannot be analysed \(/);
});

Deno.test("upload analysis: past its time limit the Worker is stopped; an abort rejects with its reason", async () => {
  const f = loadFixture("conv_basic");
  await assert.rejects(
    analyzeInWorker(f.bytes, f.spec, { timeoutMs: 1 }),
    (e) => e instanceof AnalysisTimeoutError && e.timeoutMs === 1,
  );
  const cancel = new AbortController();
  const reason = new Error("stopped");
  const analysis = analyzeInWorker(f.bytes, f.spec, { signal: cancel.signal });
  cancel.abort(reason);
  await assert.rejects(analysis, (e) => e === reason);
});
