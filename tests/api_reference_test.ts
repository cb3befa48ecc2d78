/// <reference lib="dom" />
import assert from "node:assert/strict";
import { join } from "node:path";
import openapiTS, { astToString } from "openapi-typescript";
import type { ElementHandle } from "puppeteer-core";
import { schemaValidator } from "./support/openapi.ts";
import { copyModel, loadFixtureImages, MODELS_DIR, startTestServer } from "./support/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const CACHE_DIR = new URL("./.cache/", import.meta.url);
// Request options with a server default are optional: by default openapi-typescript makes defaulted fields required.
const OPENAPI_TS_OPTIONS = { defaultNonNullable: false };

Deno.test("api reference: a generated typed client, the interactive /docs", async (t) => {
  const modelsDir = await Deno.makeTempDir({ prefix: "robustcheck-models-" });
  await copyModel(join(MODELS_DIR, "fashion-cnn"), join(modelsDir, "fashion-cnn"));
  const server = await startTestServer({ ROBUSTCHECK_MODELS_DIR: modelsDir });
  const clientDir = await Deno.makeTempDir({ prefix: "robustcheck-client-" });
  try {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json();

    await t.step("openapi-typescript + openapi-fetch: a /check call type-checks and runs", async () => {
      await Deno.writeTextFile(join(clientDir, "api.d.ts"), astToString(await openapiTS(doc, OPENAPI_TS_OPTIONS)));
      await Deno.copyFile(
        new URL("./support/typed_client/check_call.ts", import.meta.url),
        join(clientDir, "client.ts"),
      );
      const config = new URL("../deno.json", import.meta.url).pathname;
      const checked = await new Deno.Command(Deno.execPath(), {
        args: ["check", "--config", config, join(clientDir, "client.ts")],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(checked.code, 0, new TextDecoder().decode(checked.stderr));

      const client = await import(`file://${join(clientDir, "client.ts")}`);
      const [image] = await loadFixtureImages("fashion", 1);
      const report = await client.checkImage(server.url, "fashion-cnn", image.bytes.toBase64());
      assert.equal(report.model.id, "fashion-cnn");
      assert.deepEqual(report.label, { index: 9, label: "Ankle boot", source: "request" });
      assert.equal(report.seed, 7);
      assert.deepEqual(report.probes.map((p: { attack: string; eps: number }) => [p.attack, p.eps]), [
        ["fgsm", 0.1],
        ["pgd", 0.1],
      ]);
      assert.equal(report.squeeze, null);
      assert.equal(report.minimalEpsilon.method, "bisection-pgd-linf");
      // The live report is what the document says a report is.
      assert.deepEqual(schemaValidator(doc)("/components/schemas/CheckReport", report), []);
      assert.deepEqual(await client.unknownModelError(server.url), { status: 404, code: "unknown_model" });
    });

    await t.step("/docs and its assets come from this server, with cache headers and content types", async () => {
      const page = await fetch(`${server.url}/docs`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type")!, /^text\/html/);
      assert.equal(page.headers.get("cache-control"), "no-cache");
      const csp = page.headers.get("content-security-policy")!;
      assert.match(csp, /default-src 'none'/);
      assert.doesNotMatch(csp, /https?:/);
      const html = await page.text();
      assert.doesNotMatch(html, /:\/\//, "the page names no other origin");
      const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
      assert.ok(refs.length >= 3, html);
      const types: Record<string, RegExp> = {
        js: /^text\/javascript/,
        css: /^text\/css/,
        png: /^image\/png/,
        json: /^application\/json/,
      };
      assert.ok(refs.includes("/openapi.json"), "the page links the document itself");
      for (const ref of refs) {
        assert.match(ref, /^\/(docs\/|openapi\.json$)/);
        const response = await fetch(`${server.url}${ref}`, { headers: { "accept-encoding": "gzip" } });
        assert.equal(response.status, 200, ref);
        assert.match(response.headers.get("content-type")!, types[ref.split(".").pop()!], ref);
        const body = await response.text();
        if (ref.startsWith("/docs/assets/")) {
          assert.equal(response.headers.get("cache-control"), "public, max-age=31536000, immutable");
        } else {
          assert.doesNotMatch(body, /:\/\//, `${ref} names no other origin`);
        }
        if (ref.endsWith("swagger-ui-bundle.js")) assert.match(body, /SwaggerUIBundle/);
      }
      const assets = refs.find((r) => r.endsWith("/swagger-ui.css"))!.replace(/\/[^/]+$/, "");
      for (const ref of ["/docs/assets/0.0.0/swagger-ui.css", `${assets}/package.json`, `${assets}/constructor`]) {
        const missing = await fetch(`${server.url}${ref}`);
        assert.equal(missing.status, 404, ref);
        assert.equal((await missing.json()).error.code, "not_found");
      }
    });

    await t.step({
      name: "headless Chromium renders every operation and runs try-it-out, loading nothing from elsewhere",
      ignore: !hasChromium,
      fn: async () => {
        const { default: puppeteer } = await import("puppeteer-core");
        const browser = await puppeteer.launch({
          executablePath: CHROMIUM,
          args: [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
          ],
        });
        try {
          const page = await browser.newPage();
          await page.setViewport({ width: 1280, height: 900 });
          const requested: string[] = [];
          const problems: string[] = [];
          page.on("request", (r) => void requested.push(r.url()));
          page.on("pageerror", (e) => void problems.push(String(e)));
          page.on("console", (m) => void (m.type() === "error" && problems.push(m.text())));
          await page.goto(`${server.url}/docs`, { waitUntil: "networkidle0" });
          await page.waitForSelector(".opblock");
          const operationIds = Object.values(doc.paths).flatMap((item) =>
            Object.values(item as Record<string, { operationId: string }>).map((op) => op.operationId)
          );
          const rendered = await page.$$eval(
            ".opblock .opblock-summary-operation-id",
            (els) => els.map((e) => e.textContent),
          );
          assert.deepEqual([...rendered].sort(), [...operationIds].sort());
          await Deno.mkdir(CACHE_DIR, { recursive: true });
          await page.screenshot({ path: new URL("docs.png", CACHE_DIR).pathname });

          // Try it out: the predict operation's JSON example is a real image.
          const predict = await page.waitForSelector("#operations-images-predict .opblock-summary");
          await predict!.click();
          const execute = await page.waitForSelector("#operations-images-predict .execute");
          await execute!.click();
          await page.waitForSelector("#operations-images-predict .live-responses-table .response-col_status");
          const status = await page.$eval(
            "#operations-images-predict .live-responses-table .response .response-col_status",
            (e) => e.textContent?.trim(),
          );
          assert.equal(status, "200");
          const body = await page.$eval(
            "#operations-images-predict .live-responses-table .microlight",
            (e) => e.textContent,
          );
          assert.match(body ?? "", /"label": "Ankle boot"/);

          // Try it out with a file: /check as multipart, the `options` part prefilled from the CheckOptions example.
          const check = "#operations-images-check";
          await (await page.waitForSelector(`${check} .opblock-summary`))!.click();
          await page.waitForSelector(`${check} .body-param-content-type select`);
          await page.select(`${check} .body-param-content-type select`, "multipart/form-data");
          const file = await page.waitForSelector(`${check} input[type=file]`);
          await (file as ElementHandle<HTMLInputElement>).uploadFile(
            new URL("./fixtures/fashion/0000.png", import.meta.url).pathname,
          );
          await page.click(`${check} .execute`);
          await page.waitForSelector(`${check} .live-responses-table .response-col_status`);
          const checkStatus = await page.$eval(
            `${check} .live-responses-table .response .response-col_status`,
            (e) => e.textContent?.trim(),
          );
          const report = JSON.parse(
            await page.$eval(`${check} .live-responses-table .microlight`, (e) => e.textContent ?? ""),
          );
          assert.equal(checkStatus, "200", JSON.stringify(report));
          assert.equal(report.seed, 7, "the options part was sent and read");
          assert.deepEqual(report.label, { index: 9, label: "Ankle boot", source: "request" });

          await page.screenshot({ path: new URL("docs-try-it-out.png", CACHE_DIR).pathname });
          const elsewhere = requested.filter((url) => !url.startsWith(server.url) && !url.startsWith("data:"));
          assert.deepEqual(elsewhere, []);
          assert.deepEqual(problems, []);
        } finally {
          await browser.close();
        }
      },
    });
  } finally {
    await server.shutdown();
    await Deno.remove(clientDir, { recursive: true });
    await Deno.remove(modelsDir, { recursive: true });
  }
});
