import assert from "node:assert/strict";
import { RequestError } from "../errors.ts";
import type { Manifest } from "../model/manifest.ts";
import { startWorkerPool } from "../runtime/worker_pool.ts";
import { validateUpload } from "./validate_upload.ts";

const AUTODIFF = new URL("../../tests/fixtures/autodiff/", import.meta.url);

/** MobileNetV2 (width 0.35, 64²): its numerical gradient check takes seconds, so a stop lands while it runs. */
async function mobilenet(): Promise<{ modelBytes: Uint8Array; manifest: Manifest; sha256: string }> {
  const modelBytes = await Deno.readFile(new URL("mobilenet_v2_w035.onnx", AUTODIFF));
  const { spec } = JSON.parse(await Deno.readTextFile(new URL("mobilenet_v2_w035.json", AUTODIFF)));
  const manifest = { id: "mobilenet-w035", labels: Array.from({ length: 10 }, (_, i) => `class ${i}`), ...spec };
  return { modelBytes, manifest, sha256: "0".repeat(64) };
}

Deno.test("validate upload: a gradient check past its time limit is a 422 gradient_check_failed; an abort rejects with its reason", async () => {
  const engine = await startWorkerPool({ backend: "wasm", threads: 1, workers: 1 });
  try {
    const upload = await mobilenet();
    await assert.rejects(
      validateUpload({ engine, ...upload, gradientCheckTimeoutMs: 100 }),
      (e) =>
        e instanceof RequestError && e.status === 422 && e.code === "gradient_check_failed" &&
        e.message === "model: the numerical gradient check did not finish within 100 ms",
    );
    const cancel = new AbortController();
    const reason = new RequestError(503, "shutting_down", "the server is shutting down");
    const validation = validateUpload({ engine, ...upload, signal: cancel.signal });
    // Whether it lands while the session loads or while the check's Worker runs, the validation stops with the reason.
    await new Promise((resolve) => setTimeout(resolve, 50));
    cancel.abort(reason);
    await assert.rejects(validation, (e) => e === reason);
    const inspection = await validateUpload({ engine, ...upload });
    assert.equal(inspection.gradient.check?.ok, true, "the engine is unaffected: the next validation passes");
  } finally {
    engine.close();
  }
});
