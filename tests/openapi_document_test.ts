import assert from "node:assert/strict";
import { Validator } from "@seriousme/openapi-schema-validator";
import fc from "fast-check";
import { CheckOptionsSchema, DEFAULT_CHECK_LIMITS } from "../src/check/options.ts";
import { createApp } from "../src/http/app.ts";
import type { AppDeps } from "../src/http/context.ts";
import { type OpenApiDocument, pointerTo, schemaValidator } from "./support/openapi.ts";

// /openapi.json over app.request: the document needs no port and no model.
// The document describes routes, not the running service: building and serving it must touch no dependency.
const untouchable = new Proxy({}, {
  get(_, key) {
    throw new Error(`building /openapi.json read deps.${String(key)}`);
  },
}) as AppDeps;
const app = createApp(Object.assign(Object.create(untouchable), { checkLimits: DEFAULT_CHECK_LIMITS }));

type Doc = OpenApiDocument;
const doc: Doc = await (await app.request("/openapi.json")).json();
const operations = Object.entries(doc.paths as Record<string, Record<string, Doc>>)
  .flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

Deno.test("openapi: the document is valid OpenAPI 3.1 (@seriousme/openapi-schema-validator)", async () => {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(doc)); // resolveRefs rewrites it in place
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  assert.equal(validator.version, "3.1");
  // Every $ref points at something that exists.
  assert.doesNotThrow(() => validator.resolveRefs());
});

Deno.test("openapi: every route the app serves is documented; every POST documents its body", () => {
  const served = app.routes
    // Pages for people (API reference, web UI) are not API operations.
    .filter((r) => r.method !== "ALL" && r.path !== "/openapi.json" && !r.path.startsWith("/docs"))
    .filter((r) => r.path !== "/" && !r.path.startsWith("/ui/"))
    .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
  const documented = operations.map((o) => `${o.method} ${o.path}`);
  assert.deepEqual([...new Set(served)].sort(), documented.sort());
  for (const { path, method, op } of operations.filter((o) => o.method === "post")) {
    assert.ok(op.requestBody?.required, `${method} ${path} documents no required body`);
    const media = Object.entries(op.requestBody.content as Record<string, Doc>);
    assert.ok(media.length > 0 && media.every(([, m]) => m.schema), `${method} ${path}: a body without a schema`);
    const json = op.requestBody.content["application/json"];
    assert.ok(!json || json.example, `${method} ${path}: no JSON body example`);
  }
});

Deno.test("openapi: operations have unique operationIds and declared tags", () => {
  const ids = operations.map((o) => o.op.operationId);
  assert.ok(ids.every((id) => typeof id === "string" && id.length > 0), JSON.stringify(ids));
  assert.equal(new Set(ids).size, ids.length);
  const tags = new Set(doc.tags.map((t: { name: string }) => t.name));
  for (const { op } of operations) {
    assert.ok(op.tags?.length > 0 && op.tags.every((t: string) => tags.has(t)), `${op.operationId}: ${op.tags}`);
  }
  assert.deepEqual(doc.servers.map((s: { url: string }) => s.url), ["/"]);
});

Deno.test("openapi: image bodies come in every form the intake reads; options are the validating schema", () => {
  const check = doc.paths["/v1/models/{id}/check"].post.requestBody.content;
  assert.deepEqual(
    Object.keys(check).sort(),
    ["application/json", "application/octet-stream", "image/jpeg", "image/png", "image/webp", "multipart/form-data"],
  );
  assert.deepEqual(check["application/json"].schema.properties.options, { $ref: "#/components/schemas/CheckOptions" });
  assert.deepEqual(check["multipart/form-data"].encoding.options, { contentType: "application/json" });
  assert.equal(check["multipart/form-data"].schema.properties.image.format, "binary");
  assert.equal(check["image/png"].schema.format, "binary");
  // Strictness and bounds come from CheckOptionsSchema itself.
  const options = doc.components.schemas.CheckOptions;
  assert.equal(options.additionalProperties, false);
  assert.deepEqual(options.properties.seed, { type: "integer", minimum: 0, maximum: 0xffffffff });
  const calibrate = doc.paths["/v1/models/{id}/calibrate"].post.requestBody.content;
  assert.deepEqual(Object.keys(calibrate).sort(), ["application/json", "multipart/form-data"]);
  assert.equal(calibrate["multipart/form-data"].schema.properties.image.type, "array");
  assert.deepEqual(calibrate["application/json"].schema.properties.options, {
    $ref: "#/components/schemas/CalibrateOptions",
  });
});

Deno.test("openapi: each error status lists its codes, with one example per code", () => {
  const predict = doc.paths["/v1/models/{id}/predict"].post.responses;
  assert.deepEqual(
    Object.keys(predict).sort(),
    ["200", "400", "401", "403", "404", "408", "413", "415", "422", "429", "500", "503"],
  );
  assert.deepEqual(Object.keys(predict["503"].content["application/json"].examples).sort(), [
    "deadline_exceeded",
    "overloaded",
    "shutting_down",
    "worker_restarted",
  ]);
  assert.deepEqual(doc.paths["/healthz"].get.security, [], "health stays open");
  assert.deepEqual(doc.security, [{ apiKey: [] }]);
  assert.deepEqual(Object.keys(predict["415"].content["application/json"].examples), [
    "unsupported_media_type",
    "unsupported_image_format",
  ]);
  assert.ok(Object.keys(predict["422"].content["application/json"].examples).includes("invalid_query"));
  for (const { op } of operations) {
    for (const [status, response] of Object.entries(op.responses as Record<string, Doc>)) {
      // Bodies that are not JSON errors: a 204, SSE/HTML/CSV 200s, /readyz's 503 Readiness body.
      const json = response.content?.["application/json"];
      if (json?.schema.$ref !== "#/components/schemas/Error") continue;
      const examples = Object.entries(json.examples as Record<string, Doc>);
      assert.ok(examples.length > 0, `${op.operationId} ${status}`);
      for (const [code, example] of examples) {
        assert.equal(example.value.error.code, code);
        assert.ok(response.description.includes(`\`${code}\``), `${op.operationId} ${status} omits ${code}`);
      }
    }
  }
});

Deno.test("openapi: its schemas are strict JSON Schema 2020-12, and every example fits its schema", () => {
  const validate = schemaValidator(doc);
  const failures: string[] = [];
  let examples = 0;
  const media = (where: string[], content: Record<string, Doc>) => {
    for (const [type, m] of Object.entries(content)) {
      const values = [
        ...(m.example === undefined ? [] : [m.example]),
        ...Object.values(m.examples ?? {}).map((e) => (e as { value: unknown }).value),
      ];
      for (const value of values) {
        examples++;
        const errors = validate(pointerTo(...where, "content", type, "schema"), value);
        if (errors.length > 0) failures.push(`${where.join(" ")} ${type}: ${errors.join("; ")}`);
      }
    }
  };
  for (const { path, method, op } of operations) {
    if (op.requestBody) media(["paths", path, method, "requestBody"], op.requestBody.content);
    for (const [status, response] of Object.entries(op.responses as Record<string, Doc>)) {
      if (response.content) media(["paths", path, method, "responses", status], response.content);
    }
  }
  for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, Doc>)) {
    if (schema.example === undefined) continue;
    examples++;
    failures.push(...validate(pointerTo("components", "schemas", name), schema.example).map((e) => `${name}: ${e}`));
  }
  assert.deepEqual(failures, []);
  assert.ok(examples >= 20, `only ${examples} examples`);
  // The validator does reject what the server would reject.
  const checkJson = pointerTo("paths", "/v1/models/{id}/check", "post", "requestBody", "content", "application/json");
  assert.notDeepEqual(validate(`${checkJson}/schema`, { image: "", options: { pgd: [{ eps: "0.1" }] } }), []);
  assert.notDeepEqual(validate(`${checkJson}/schema`, { image: "", options: { squeeze: { bits: 1 } } }), []);
});

Deno.test("openapi: documented CheckOptions accept exactly what the server's schema accepts", () => {
  const validate = schemaValidator(doc);
  // Mostly valid values, so both verdicts occur often; each field is sometimes wrong in a typical way.
  const often = <T, U>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<U>) =>
    fc.oneof({ weight: 15, arbitrary: valid }, { weight: 1, arbitrary: invalid });
  const count = often(fc.integer({ min: 1, max: 40 }), fc.oneof(fc.integer({ min: -2, max: 0 }), fc.constant(2.5)));
  const eps = often(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(fc.constant(1.5), fc.constant("0.1")));
  const probe = <T>(valid: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 12, arbitrary: valid }, { weight: 3, arbitrary: fc.constant(false) }, {
      weight: 1,
      arbitrary: fc.constant(true),
    });
  const squeezer = fc.oneof(
    fc.record({ kind: fc.constant("bitDepth"), bits: often(fc.integer({ min: 1, max: 8 }), fc.constant(9)) }),
    fc.record({ kind: often(fc.constant("median"), fc.constant("blur")), size: count }),
    fc.record({ kind: fc.constant("nonLocalMeans"), search: count, patch: count, h: count }),
  );
  const options = fc.record({
    label: fc.oneof(count, fc.constant(null)),
    target: fc.oneof(count, fc.constant(null)),
    seed: often(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.constant(2 ** 32)),
    topK: count,
    squeeze: probe(fc.record({ squeezers: fc.array(squeezer, { maxLength: 3 }), threshold: eps }, {
      requiredKeys: [],
    })),
    randomization: probe(
      fc.record({ draws: count, minSize: count, canvas: count, eot: probe(fc.record({ steps: count })) }, {
        requiredKeys: [],
      }),
    ),
    fgsm: probe(fc.record({ eps: fc.array(eps, { maxLength: 3 }) })),
    pgd: probe(fc.array(
      fc.record({ norm: often(fc.constantFrom("linf", "l2"), fc.constant("l1")), eps, steps: count }, {
        requiredKeys: ["eps"],
      }),
      { maxLength: 2 },
    )),
    minimalEpsilon: probe(fc.record({ high: eps, alphaFactor: eps, randomStart: fc.boolean() }, { requiredKeys: [] })),
    return: fc.array(often(fc.constantFrom("adversarial", "perturbation"), fc.constant("logits")), { maxLength: 2 }),
  }, { requiredKeys: [] });
  const withUnknownKey = fc.tuple(options, often(fc.constant({}), fc.constant({ unknownKey: 1 })))
    .map(([o, extra]) => ({ ...o, ...extra }));
  const verdicts = { accepted: 0, rejected: 0 };
  fc.assert(
    fc.property(withUnknownKey, (value) => {
      const server = CheckOptionsSchema.safeParse(value);
      const documented = validate("/components/schemas/CheckOptions", value);
      verdicts[server.success ? "accepted" : "rejected"]++;
      if (server.success) return documented.length === 0;
      // What JSON Schema cannot say (odd window sizes) is checked by zod refinements only.
      return documented.length > 0 || server.error.issues.every((i) => i.code === "custom");
    }),
    { numRuns: 1000 }, // about 10% are accepted: enough of both kinds
  );
  assert.ok(verdicts.accepted >= 50 && verdicts.rejected >= 50, JSON.stringify(verdicts));
});

Deno.test("openapi: every error code the source can throw is documented with its status, and in the README", async () => {
  const documented = new Map<string, Set<string>>();
  for (const { op } of operations) {
    for (const [status, response] of Object.entries(op.responses as Record<string, Doc>)) {
      for (const code of Object.keys(response.content?.["application/json"]?.examples ?? {})) {
        documented.set(code, (documented.get(code) ?? new Set()).add(status));
      }
    }
  }
  // Raised by the validation hook of routes declared with app.openapi, none of which has a failing parameter yet.
  const notPerRoute = new Set(["invalid_request"]);
  const thrown: string[] = [];
  for await (const file of walkTs(new URL("../src/", import.meta.url))) {
    const text = await Deno.readTextFile(file);
    for (const [, status, code] of text.matchAll(/new RequestError\(\s*(\d{3}),\s*"(\w+)"/g)) {
      thrown.push(code);
      if (notPerRoute.has(code)) continue;
      assert.ok(documented.get(code)?.has(status), `${file.pathname}: ${status} ${code} is not in /openapi.json`);
    }
  }
  assert.ok(thrown.length >= 15, `found only ${thrown.length} RequestErrors`);
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  for (const [code, statuses] of documented) {
    for (const status of statuses) {
      const row = readme.split("\n").find((line) => line.startsWith(`| ${status} `)) ?? "";
      assert.ok(row.includes(`\`${code}\``), `README's error table lacks ${status} ${code}`);
    }
  }
});

async function* walkTs(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* walkTs(url);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) yield url;
  }
}
