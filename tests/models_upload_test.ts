import assert from "node:assert/strict";
import { join } from "node:path";
import { freshDataDir, isolatedSchema } from "../src/storage/testing.ts";
import {
  errorOf,
  FIXTURE_MODELS_DIR,
  fixtureModelsDir,
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  startTestServer,
  type TestServer,
} from "./support/server.ts";

const POSTGRES_URL = Deno.env.get("ROBUSTCHECK_TEST_DATABASE_URL");

interface Fixture {
  bytes: Uint8Array;
  manifest: Record<string, unknown>;
}

async function fixture(id: string, edit?: (manifest: Record<string, unknown>) => void): Promise<Fixture> {
  const bytes = await Deno.readFile(join(FIXTURE_MODELS_DIR, id, "model.onnx"));
  const manifest = JSON.parse(await Deno.readTextFile(join(FIXTURE_MODELS_DIR, id, "manifest.json")));
  edit?.(manifest);
  return { bytes, manifest };
}

function upload(url: string, model: Fixture, manifestText = JSON.stringify(model.manifest)): Promise<Response> {
  const form = new FormData();
  form.append("model", new Blob([model.bytes as Uint8Array<ArrayBuffer>]), "model.onnx");
  form.append("manifest", new Blob([manifestText], { type: "application/json" }), "manifest.json");
  return fetch(`${url}/v1/models`, { method: "POST", body: form });
}

async function sha256Of(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function storedFiles(dataDir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(dataDir, "blobs"))) names.push(entry.name);
  return names.sort();
}

const FAST_CHECK = { randomization: false, pgd: false, minimalEpsilon: false, fgsm: { eps: [0.1] }, squeeze: false };

Deno.test("uploads: upload → inspect → predict, check and calibrate; versions, delete and restart", async () => {
  const dataDir = await freshDataDir();
  const seeds = await fixtureModelsDir("fashion-nhwc-prob");
  const env = { ROBUSTCHECK_DATA_DIR: dataDir, ROBUSTCHECK_MODELS_DIR: seeds };
  let server: TestServer = await startTestServer(env);
  try {
    const linear = await fixture("fashion-linear", (m) => (m.id = "my-model"));
    const created = await upload(server.url, linear);
    assert.equal(created.status, 201, await created.clone().text());
    const body = await created.json();
    assert.equal(body.model.id, "my-model");
    assert.equal(body.model.source, "upload");
    assert.equal(body.model.version, 1);
    assert.equal(body.model.sha256, await sha256Of(linear.bytes));
    assert.equal(body.inspection.gradient.mode, "exact");
    assert.equal(body.inspection.gradient.check.ok, true);
    assert.equal(body.inspection.forward.logits.length, 10);
    assert.deepEqual(await storedFiles(dataDir), [body.model.sha256]);

    const inspection = await (await fetch(`${server.url}/v1/models/my-model/inspect`)).json();
    assert.deepEqual(inspection, body.inspection);
    assert.equal(inspection.version, 1);
    assert.ok(inspection.ops.Gemm >= 1 || inspection.ops.MatMul >= 1, JSON.stringify(inspection.ops));

    const images = await loadFixtureImages("fashion", 20);
    const predicted = await fetch(`${server.url}/v1/models/my-model/predict`, imageRequest(images[0].bytes));
    assert.equal(predicted.status, 200, await predicted.clone().text());
    const prediction = await predicted.json();
    assert.deepEqual(prediction.model, { id: "my-model", sha256: body.model.sha256 });
    const checked = await fetch(
      `${server.url}/v1/models/my-model/check`,
      jsonRequest({ image: images[0].bytes.toBase64(), options: FAST_CHECK }),
    );
    assert.equal(checked.status, 200, await checked.clone().text());
    assert.equal((await checked.json()).probes[0].gradient, "exact");
    const calibrated = await fetch(
      `${server.url}/v1/models/my-model/calibrate`,
      jsonRequest({
        images: images.map((i) => i.bytes.toBase64()),
        options: { fpr: 0.1, squeezers: [{ kind: "bitDepth", bits: 1 }] },
      }),
    );
    assert.equal(calibrated.status, 200, await calibrated.clone().text());

    // Version 2: raw ONNX bytes (another network, same labels), manifest in the query.
    const softplus = await fixture("fashion-softplus", (m) => (m.id = "my-model"));
    const raw = await fetch(
      `${server.url}/v1/models?manifest=${encodeURIComponent(JSON.stringify(softplus.manifest))}`,
      {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: softplus.bytes as Uint8Array<ArrayBuffer>,
      },
    );
    assert.equal(raw.status, 201, await raw.clone().text());
    const second = await raw.json();
    assert.equal(second.model.version, 2);
    assert.deepEqual(second.model.versions, [1, 2]);
    assert.equal(second.inspection.gradient.mode, "spsa");
    assert.deepEqual(second.inspection.gradient.unsupported, ["Softplus"]);
    assert.equal(second.inspection.gradient.check, null);

    const current = await (await fetch(`${server.url}/v1/models/my-model`)).json();
    assert.equal(current.version, 2);
    assert.equal(current.gradient.mode, "spsa");
    const old = await (await fetch(`${server.url}/v1/models/my-model?version=1`)).json();
    assert.equal(old.sha256, body.model.sha256);
    // The calibration belongs to version 1's bytes.
    assert.equal(old.squeeze.source, "calibration");
    assert.equal(current.squeeze.source, "none");
    const v1 = await (await fetch(`${server.url}/v1/models/my-model/predict?version=1`, imageRequest(images[0].bytes)))
      .json();
    assert.deepEqual(v1.prediction, prediction.prediction);

    // Restart: nothing is lost.
    await server.shutdown();
    server = await startTestServer(env);
    const listed = (await (await fetch(`${server.url}/v1/models`)).json()).models;
    assert.deepEqual(listed.map((m: { id: string; version: number | null }) => [m.id, m.version]), [
      ["fashion-nhwc-prob", null],
      ["my-model", 2],
    ]);
    const again =
      await (await fetch(`${server.url}/v1/models/my-model/predict?version=1`, imageRequest(images[0].bytes)))
        .json();
    assert.deepEqual(again.prediction, prediction.prediction);
    assert.equal(
      (await (await fetch(`${server.url}/v1/models/my-model?version=1`)).json()).squeeze.source,
      "calibration",
    );

    // Delete version 1: its bytes go, version 2 stays current.
    const deleted = await fetch(`${server.url}/v1/models/my-model?version=1`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${server.url}/v1/models/my-model?version=1`)).status, 404);
    assert.equal(
      (await fetch(`${server.url}/v1/models/my-model/predict?version=1`, imageRequest(images[0].bytes))).status,
      404,
    );
    assert.deepEqual(await storedFiles(dataDir), [second.model.sha256]);
    const gone = await fetch(`${server.url}/v1/models/my-model?version=1`, { method: "DELETE" });
    assert.equal((await errorOf(gone)).code, "unknown_model");
    const seed = await fetch(`${server.url}/v1/models/fashion-nhwc-prob?version=1`, { method: "DELETE" });
    assert.equal(seed.status, 409);
    assert.equal((await errorOf(seed)).code, "read_only_model");
  } finally {
    await server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(seeds, { recursive: true });
  }
});

Deno.test("uploads: bad uploads answer 4xx naming the problem and leave nothing behind", async () => {
  const dataDir = await freshDataDir();
  const seeds = await fixtureModelsDir("fashion-nhwc-prob");
  const server = await startTestServer({
    ROBUSTCHECK_DATA_DIR: dataDir,
    ROBUSTCHECK_MODELS_DIR: seeds,
    ROBUSTCHECK_MAX_MODEL_BYTES: "40000",
  });
  try {
    const good = await fixture("fashion-linear", (m) => (m.id = "kept"));
    assert.equal((await upload(server.url, good)).status, 201);
    const png = (await loadFixtureImages("fashion", 1))[0].bytes;
    const softplus = await fixture("fashion-softplus");
    const cases: [string, () => Promise<Response>, number, string, RegExp][] = [
      ["not ONNX", () => upload(server.url, { ...good, bytes: png }), 422, "invalid_onnx", /not an ONNX model/],
      [
        "truncated",
        async () => upload(server.url, { ...good, bytes: good.bytes.subarray(0, good.bytes.length - 1000) }),
        422,
        "invalid_onnx",
        /truncated/,
      ],
      [
        "wrong input name",
        async () =>
          upload(
            server.url,
            await fixture("fashion-linear", (m) => (m.id = "x", (m.input as { name: string }).name = "img")),
          ),
        422,
        "manifest_mismatch",
        /input\.name: the model has no input "img"/,
      ],
      [
        "classes ≠ labels",
        async () =>
          upload(server.url, await fixture("fashion-linear", (m) => (m.id = "x", m.labels = ["a", "b", "c"]))),
        422,
        "manifest_mismatch",
        /emits 10 classes but the manifest lists 3 labels/,
      ],
      [
        "manifest not JSON",
        async () => upload(server.url, good, "{not json"),
        422,
        "invalid_manifest",
        /not valid JSON/,
      ],
      [
        "manifest invalid",
        async () => upload(server.url, good, JSON.stringify({ ...good.manifest, id: "Bad Id" })),
        422,
        "invalid_manifest",
        /id: lowercase/,
      ],
      [
        "too large (multipart)",
        async () => upload(server.url, await fixture("fashion-softplus", (m) => (m.id = "big"))),
        413,
        "model_too_large",
        /ROBUSTCHECK_MAX_MODEL_BYTES \(40000 bytes\)/,
      ],
      [
        "too large (streamed raw body, no length)",
        async () =>
          fetch(`${server.url}/v1/models?manifest=${encodeURIComponent(JSON.stringify(good.manifest))}`, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: ReadableStream.from([softplus.bytes.subarray(0, 30000), softplus.bytes.subarray(30000)]),
          }),
        413,
        "model_too_large",
        /larger than ROBUSTCHECK_MAX_MODEL_BYTES/,
      ],
      [
        "seed id",
        async () => upload(server.url, await fixture("fashion-linear", (m) => (m.id = "fashion-nhwc-prob"))),
        409,
        "read_only_model",
        /read-only seed/,
      ],
      [
        "other labels for an existing id",
        async () =>
          upload(
            server.url,
            await fixture(
              "fashion-linear",
              (m) => (m.id = "kept", m.labels = (m.labels as string[]).map((l) => `${l}!`)),
            ),
          ),
        409,
        "label_set_conflict",
        /already exists with other labels/,
      ],
      [
        "no manifest",
        async () =>
          fetch(`${server.url}/v1/models`, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: good.bytes as Uint8Array<ArrayBuffer>,
          }),
        422,
        "missing_manifest",
        /manifest/,
      ],
      [
        "wrong content type",
        async () => fetch(`${server.url}/v1/models`, jsonRequest({ model: "x" })),
        415,
        "unsupported_media_type",
        /multipart\/form-data/,
      ],
    ];
    for (const [name, send, status, code, message] of cases) {
      const response = await send();
      assert.equal(response.status, status, `${name}: ${await response.clone().text()}`);
      const error = await errorOf(response);
      assert.equal(error.code, code, name);
      assert.match(error.message, message, name);
    }
    const models = (await (await fetch(`${server.url}/v1/models`)).json()).models;
    assert.deepEqual(models.map((m: { id: string }) => m.id), ["fashion-nhwc-prob", "kept"]);
    assert.deepEqual((await storedFiles(dataDir)).length, 1);
  } finally {
    await server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(seeds, { recursive: true });
  }
});
