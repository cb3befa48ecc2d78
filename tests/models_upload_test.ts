import type { DecodePool } from "../src/intake/decode_pool.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CalibrationStore } from "../src/calibration/store.ts";
import { DEFAULT_CHECK_LIMITS } from "../src/check/options.ts";
import { createApp } from "../src/http/app.ts";
import type { Registry } from "../src/registry/registry.ts";
import type { InferenceEngine } from "../src/runtime/engine.ts";
import { freshDataDir, isolatedSchema } from "../src/storage/testing.ts";
import {
  errorOf,
  FIXTURE_MODELS_DIR,
  fixtureModelsDir,
  imageRequest,
  jsonRequest,
  loadFixtureImages,
  startMain,
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
        // The model's default squeezers: GET /v1/models/{id} reports a calibration only for those (the /check rule).
        options: { fpr: 0.1 },
      }),
    );
    assert.equal(calibrated.status, 200, await calibrated.clone().text());

    // Version 2: raw ONNX bytes (another network, same labels), manifest in the query.
    const atan = await fixture("fashion-atan", (m) => (m.id = "my-model"));
    const raw = await fetch(
      `${server.url}/v1/models?manifest=${encodeURIComponent(JSON.stringify(atan.manifest))}`,
      {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: atan.bytes as Uint8Array<ArrayBuffer>,
      },
    );
    assert.equal(raw.status, 201, await raw.clone().text());
    const second = await raw.json();
    assert.equal(second.model.version, 2);
    assert.deepEqual(second.model.versions, [1, 2]);
    assert.equal(second.inspection.gradient.mode, "spsa");
    assert.deepEqual(second.inspection.gradient.unsupported, ["Atan"]);
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
    const atan = await fixture("fashion-atan");
    const cases: [string, () => Promise<Response>, number, string, RegExp][] = [
      ["not ONNX", () => upload(server.url, { ...good, bytes: png }), 422, "invalid_onnx", /not an ONNX model/],
      [
        "truncated",
        () => upload(server.url, { ...good, bytes: good.bytes.subarray(0, good.bytes.length - 1000) }),
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
        () => upload(server.url, good, "{not json"),
        422,
        "invalid_manifest",
        /not valid JSON/,
      ],
      [
        "manifest invalid",
        () => upload(server.url, good, JSON.stringify({ ...good.manifest, id: "Bad Id" })),
        422,
        "invalid_manifest",
        /id: lowercase/,
      ],
      [
        "too large (multipart)",
        async () => upload(server.url, await fixture("fashion-atan", (m) => (m.id = "big"))),
        413,
        "model_too_large",
        /ROBUSTCHECK_MAX_MODEL_BYTES \(40000 bytes\)/,
      ],
      [
        "too large (streamed raw body, no length)",
        () =>
          fetch(`${server.url}/v1/models?manifest=${encodeURIComponent(JSON.stringify(good.manifest))}`, {
            method: "POST",
            headers: { "content-type": "application/octet-stream" },
            body: ReadableStream.from([atan.bytes.subarray(0, 30000), atan.bytes.subarray(30000)]),
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
        () =>
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
        () => fetch(`${server.url}/v1/models`, jsonRequest({ model: "x" })),
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

Deno.test("uploads: a second process on the same PGlite directory is refused with a clear message", async () => {
  const dataDir = await freshDataDir();
  const seeds = await fixtureModelsDir();
  const server = await startTestServer({ ROBUSTCHECK_DATA_DIR: dataDir, ROBUSTCHECK_MODELS_DIR: seeds });
  try {
    const second = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: new URL("..", import.meta.url).pathname,
      env: { PORT: "0", HOSTNAME: "127.0.0.1", ROBUSTCHECK_DATA_DIR: dataDir, ROBUSTCHECK_MODELS_DIR: seeds },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(second.stderr);
    assert.equal(second.code, 1, stderr);
    assert.match(stderr, /robustcheck: .*\/lock is locked: another robustcheck process uses the data directory/);
    assert.match(stderr, /ROBUSTCHECK_DATABASE_URL/);
    // The first server is unaffected.
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.shutdown();
    await Deno.remove(dataDir, { recursive: true });
    await Deno.remove(seeds, { recursive: true });
  }
});

Deno.test("uploads: with room for one loaded model, alternating between two reloads sessions and answers the same", async () => {
  const seeds = await fixtureModelsDir();
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: seeds, ROBUSTCHECK_MAX_LOADED_MODELS: "1" });
  try {
    for (const [id, from] of [["first", "fashion-linear"], ["second", "fashion-nhwc-prob"]]) {
      const response = await upload(server.url, await fixture(from, (m) => (m.id = id)));
      assert.equal(response.status, 201, await response.clone().text());
    }
    const [image] = await loadFixtureImages("fashion", 1);
    const answers = new Map<string, unknown>();
    for (const id of ["first", "second", "first", "second", "first"]) {
      const response = await fetch(`${server.url}/v1/models/${id}/predict`, imageRequest(image.bytes));
      assert.equal(response.status, 200, await response.clone().text());
      const { prediction } = await response.json();
      if (answers.has(id)) assert.deepEqual(prediction, answers.get(id), id);
      answers.set(id, prediction);
    }
  } finally {
    await server.shutdown();
    await Deno.remove(seeds, { recursive: true });
  }
});

Deno.test("uploads: clients that are not on loopback may not upload or delete", async () => {
  const app = createApp({
    registry: {} as Registry,
    engine: {} as InferenceEngine,
    calibrations: {} as CalibrationStore,
    decoder: {} as DecodePool,
    limits: { maxBodyBytes: 1 << 20, maxPixels: 1 << 20, maxRequestPixels: 1 << 20 },
    checkLimits: DEFAULT_CHECK_LIMITS,
    maxModelBytes: 1 << 20,
  });
  const remote = { remoteAddr: { hostname: "203.0.113.7", port: 5000, transport: "tcp" } };
  for (const init of [{ method: "POST", body: new FormData() }, { method: "DELETE" }]) {
    const path = init.method === "POST" ? "/v1/models" : "/v1/models/x?version=1";
    const response = await app.request(path, init, remote);
    assert.equal(response.status, 403, init.method);
    assert.equal((await errorOf(response)).code, "forbidden");
  }
});

Deno.test({
  name: POSTGRES_URL
    ? "uploads (postgres): a model uploaded through one process is served and deleted by another"
    : "uploads (postgres, ignored: set ROBUSTCHECK_TEST_DATABASE_URL): two processes share one PostgreSQL",
  ignore: !POSTGRES_URL,
  async fn() {
    const { url, drop } = await isolatedSchema(POSTGRES_URL!);
    const seeds = await fixtureModelsDir();
    const env = { ROBUSTCHECK_DATABASE_URL: url, ROBUSTCHECK_MODELS_DIR: seeds, ROBUSTCHECK_MODELS_POLL_MS: "0" };
    const [a, b] = await Promise.all([startMain(env), startMain(env)]);
    try {
      const created = await upload(a.url, await fixture("fashion-linear", (m) => (m.id = "shared")));
      assert.equal(created.status, 201, await created.clone().text());
      const { model } = await created.json();
      const [image] = await loadFixtureImages("fashion", 1);
      const predicted = await fetch(`${b.url}/v1/models/shared/predict`, imageRequest(image.bytes));
      assert.equal(predicted.status, 200, await predicted.clone().text());
      assert.equal((await predicted.json()).model.sha256, model.sha256);
      assert.deepEqual(
        await (await fetch(`${b.url}/v1/models/shared/inspect`)).json(),
        await (await fetch(`${a.url}/v1/models/shared/inspect`)).json(),
      );

      const images = await loadFixtureImages("fashion", 10);
      const calibrated = await fetch(
        `${b.url}/v1/models/shared/calibrate`,
        jsonRequest({
          images: images.map((i) => i.bytes.toBase64()),
          options: { squeezers: [{ kind: "bitDepth", bits: 1 }] },
        }),
      );
      assert.equal(calibrated.status, 200, await calibrated.clone().text());
      const { threshold } = await calibrated.json();
      const checked = await fetch(
        `${a.url}/v1/models/shared/check`,
        jsonRequest({
          image: image.bytes.toBase64(),
          options: { ...FAST_CHECK, squeeze: { squeezers: [{ kind: "bitDepth", bits: 1 }] } },
        }),
      );
      assert.equal(checked.status, 200, await checked.clone().text());
      const report = await checked.json();
      assert.equal(report.squeeze.thresholdSource, "calibration");
      assert.equal(report.squeeze.threshold, threshold);

      const deleted = await fetch(`${b.url}/v1/models/shared?version=1`, { method: "DELETE" });
      assert.equal(deleted.status, 204);
      // Polling is off: A learns of the deletion from B's NOTIFY.
      let status = 200;
      for (let i = 0; i < 50 && status === 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await fetch(`${a.url}/v1/models/shared/predict`, imageRequest(image.bytes))).status;
      }
      assert.equal(status, 404);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await drop();
      await Deno.remove(seeds, { recursive: true });
    }
  },
});

Deno.test("uploads: a version an unfinished audit pins cannot be deleted until the audit ends", async () => {
  const dataDir = await freshDataDir();
  const seeds = await fixtureModelsDir("fashion-nhwc-prob");
  // No audit workers: the audit stays queued, i.e. unfinished, for as long as the test needs.
  const server = await startTestServer({
    ROBUSTCHECK_DATA_DIR: dataDir,
    ROBUSTCHECK_MODELS_DIR: seeds,
    ROBUSTCHECK_AUDIT_WORKERS: "0",
  });
  try {
    const created = await upload(server.url, await fixture("fashion-linear", (m) => (m.id = "pinned")));
    assert.equal(created.status, 201, await created.clone().text());
    const images = await loadFixtureImages("fashion", 4);
    const audit = await fetch(
      `${server.url}/v1/audits`,
      jsonRequest({
        model: "pinned",
        version: 1,
        dataset: images.map((i) => ({ image: i.bytes.toBase64(), label: i.label })),
        plan: { attacks: [{ kind: "fgsm", eps: [0.1] }], minimalEpsilon: false, squeeze: false, spsa: false },
      }),
    );
    assert.equal(audit.status, 202, await audit.clone().text());
    const { id } = await audit.json();
    const refused = await fetch(`${server.url}/v1/models/pinned?version=1`, { method: "DELETE" });
    assert.equal(refused.status, 409);
    const error = await errorOf(refused);
    assert.equal(error.code, "model_in_use");
    assert.match(error.message, new RegExp(id));
    assert.equal((await fetch(`${server.url}/v1/models/pinned?version=1`)).status, 200);
    assert.equal((await fetch(`${server.url}/v1/audits/${id}`, { method: "DELETE" })).status, 200);
    const deleted = await fetch(`${server.url}/v1/models/pinned?version=1`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
  } finally {
    await server.shutdown();
    await Deno.remove(seeds, { recursive: true });
  }
});
