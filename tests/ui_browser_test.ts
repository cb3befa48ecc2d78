/// <reference lib="dom" />
/**
 * The web UI at `/` in headless Chromium (puppeteer-core + Debian's chromium): choose a model, upload a
 * fixture image, run a check, and compare what the page shows with the API's report for the same
 * request (same bytes, same options, same seed); a sample in two clicks on a phone width; an audit of the
 * sample set started from the page (and, on a server with API keys, with the pasted key, its report opened as a
 * blob); a bad file's error in words. Screenshots go to tests/.cache/ (ui-desktop.png, ui-phone.png, ui-error.png).
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "puppeteer-core";
import { sha256Hex } from "../src/ops/api_keys.ts";
import { errorOf, multipartRequest, startTestServer, type TestServer } from "./support/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = await Deno.stat(CHROMIUM).then(() => true, () => false);
const CACHE_DIR = new URL("./.cache/", import.meta.url);
const FIXTURE = new URL("./fixtures/fashion/0000.png", import.meta.url).pathname;

async function openPage(browser: Browser, url: string, viewport: { width: number; height: number; mobile?: boolean }) {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on("pageerror", (e) => void problems.push(String(e)));
  page.on("requestfailed", (r) => void problems.push(`request failed: ${r.url()}`));
  // Viewport (and isMobile) before goto: switching isMobile reloads the page.
  await page.setViewport({ width: viewport.width, height: viewport.height, isMobile: viewport.mobile ?? false });
  await page.goto(url, { waitUntil: "networkidle0" });
  await page.waitForSelector('#model option[value="fashion-cnn"]');
  return { page, problems };
}

/** Clicks Run and waits until the page reports the end of the check (done or failed). */
async function runCheck(page: Page): Promise<void> {
  await page.waitForSelector("#run:not([disabled])");
  await page.click("#run");
  await page.waitForFunction(
    () => /^(Done|The check failed)/.test(document.getElementById("status")?.textContent ?? ""),
    { timeout: 120_000 },
  );
  await page.waitForFunction(() => document.getElementById("result")?.getAttribute("aria-busy") === "false");
}

const text = (page: Page, selector: string) => page.$eval(selector, (e) => e.textContent ?? "");

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

Deno.test({
  name: "web UI in headless Chromium: upload and check, a sample in two clicks, keyboard, API key, audits, a bad file",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const server: TestServer = await startTestServer();
    const { default: puppeteer } = await import("puppeteer-core");
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
    });
    await Deno.mkdir(CACHE_DIR, { recursive: true });
    try {
      await t.step("the page and its assets load without a key and without errors", async () => {
        for (const path of ["/", "/ui/app.js", "/ui/api.js", "/ui/charts.js", "/ui/render.js", "/ui/style.css"]) {
          const response = await fetch(`${server.url}${path}`);
          assert.equal(response.status, 200, path);
          await response.body?.cancel();
        }
        assert.equal((await fetch(`${server.url}/ui/samples/../../deno.json`)).status, 404);
        const missing = await fetch(`${server.url}/ui/secret.js`);
        assert.equal((await errorOf(missing)).code, "not_found");
      });

      await t.step("desktop: upload a fixture, run, and see the API's own numbers", async () => {
        const { page, problems } = await openPage(browser, server.url, { width: 1280, height: 800 });
        await page.select("#model", "fashion-cnn");
        assert.match(await text(page, "#model-facts"), /28×28, greyscale.*exact/s);
        const input = await page.$("#file");
        await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(FIXTURE);
        await page.select("#label", "9");
        for (const [id, value] of [["seed", "7"], ["pgd-eps", "0.1"], ["pgd-steps", "8"], ["sweep-max", "0.4"]]) {
          await page.type(`#${id}`, value);
        }
        const options = JSON.parse(await text(page, "#options-json"));
        assert.deepEqual(options.sweep.eps, [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]);
        const curveBefore = await page.$eval("#curve", (e) => e.getBoundingClientRect().height);
        await runCheck(page);

        // The same request, sent by the test: the page must show exactly these numbers.
        const bytes = await Deno.readFile(FIXTURE);
        const report =
          await (await fetch(`${server.url}/v1/models/fashion-cnn/check`, multipartRequest(bytes, options)))
            .json();
        assert.ok(report.sweep && report.images?.adversarial, "the API answered with a sweep and an adversarial image");
        const headline = report.verdict.suspectedAdversarial
          ? /looks adversarial/
          : report.verdict.fragile
          ? /fragile/
          : /no attack within the budget/;
        assert.match(await text(page, "#verdict-text"), headline);
        assert.equal(await text(page, "#score"), String(Number(report.score.toFixed(3))));
        assert.deepEqual(
          await page.$$eval(".reasons li", (els) => els.map((e) => e.textContent)),
          report.verdict.reasons,
        );
        const src = (selector: string) => page.$eval(selector, (e) => (e as HTMLImageElement).src);
        assert.equal(await src("#adversarial-frame img"), `data:image/png;base64,${report.images.adversarial}`);
        assert.equal(await src("#perturbation-frame img"), `data:image/png;base64,${report.images.perturbation}`);
        assert.equal(await src("#original-frame img"), `data:image/png;base64,${report.images.original}`);
        const dots = await page.$$eval("#curve circle[data-eps]", (els) =>
          els.map((e) => ({
            eps: Number(e.getAttribute("data-eps")),
            confidence: Number(e.getAttribute("data-confidence")),
            success: e.getAttribute("data-success") === "true",
          })));
        assert.deepEqual(
          dots,
          report.sweep.points.map((p: { eps: number; labelConfidence: number; success: boolean }) => ({
            eps: p.eps,
            confidence: p.labelConfidence,
            success: p.success,
          })),
        );
        assert.ok(dots.some((d) => d.success), "fashion-cnn is fooled somewhere up to ε = 0.4");
        // One figure per squeezer the check used (the model's selected set, src/check/probes/squeeze.ts).
        assert.equal(
          await page.$$eval("#squeezed figure img", (els) => els.length),
          Object.keys(report.squeeze.scores).length,
        );
        assert.ok(Object.keys(report.squeeze.scores).length >= 2);
        assert.equal(await page.$$eval("#randomized figure img", (els) => els.length), 6);
        assert.equal(await page.$$eval("#attacks tbody tr", (els) => els.length), report.probes.length + 2);
        await page.waitForSelector("#topk rect.bar.adv");
        const cleanBars = await page.$$eval(
          "#topk rect.bar.clean",
          (els) => els.map((e) => Number(e.getAttribute("data-probability"))),
        );
        assert.equal(cleanBars[0], report.prediction.topK[0].probability);
        const curveAfter = await page.$eval("#curve", (e) => e.getBoundingClientRect().height);
        assert.ok(Math.abs(curveAfter - curveBefore) <= 2, `ε-curve slot ${curveBefore}px → ${curveAfter}px`);
        await page.screenshot({ path: new URL("ui-desktop.png", CACHE_DIR).pathname, fullPage: true });
        await page.evaluate(() => scrollTo(0, 0));
        await page.screenshot({ path: new URL("ui-desktop-view.png", CACHE_DIR).pathname });
        assert.deepEqual(problems, []);
        await page.close();
      });

      await t.step("phone width: a sample image in two clicks", async () => {
        const { page, problems } = await openPage(browser, server.url, { width: 390, height: 844, mobile: true });
        await page.click('.sample[data-file="trouser.png"]');
        await page.waitForFunction(() => /Trouser/.test(document.getElementById("image-state")?.textContent ?? ""));
        await runCheck(page);
        assert.match(await text(page, "#status"), /^Done/);
        assert.match(await text(page, "#verdict-text"), /\w/);
        assert.equal(await page.$eval("#label", (e) => (e as HTMLSelectElement).value), "1");
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(width <= 390, `no horizontal scrolling at 390 px (page is ${width} px wide)`);
        await page.screenshot({ path: new URL("ui-phone.png", CACHE_DIR).pathname, fullPage: true });
        // The page scrolls the verdict into view when a check ends: what a phone user sees then.
        await page.screenshot({ path: new URL("ui-phone-view.png", CACHE_DIR).pathname });
        assert.deepEqual(problems, []);
        await page.close();
      });

      await t.step("keyboard only: a sample is chosen with Tab and Enter, then Run is enabled", async () => {
        const { page } = await openPage(browser, server.url, { width: 1280, height: 800 });
        await page.keyboard.press("Tab"); // the skip link
        let focused = "";
        for (let i = 0; i < 40 && focused !== "pullover.png"; i++) {
          await page.keyboard.press("Tab");
          focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.file ?? "");
        }
        assert.equal(focused, "pullover.png", "the sample buttons are in the tab order");
        await page.keyboard.press("Enter");
        await page.waitForFunction(() => /Pullover/.test(document.getElementById("image-state")?.textContent ?? ""));
        assert.equal(
          await page.$eval('.sample[data-file="pullover.png"]', (e) => e.getAttribute("aria-pressed")),
          "true",
        );
        await page.waitForSelector("#run:not([disabled])");
        const unlabelled = await page.$$eval(
          "input, select",
          (els) =>
            els.filter((e) =>
              !e.hidden && e.id && !document.querySelector(`label[for="${e.id}"]`) && !e.closest("label")
            )
              .map((e) => e.id),
        );
        assert.deepEqual(unlabelled, [], "every input has a label");
        await page.close();
      });

      await t.step(
        "an API key pasted in the page goes out as a Bearer token and lives in sessionStorage only",
        async () => {
          const { page } = await openPage(browser, server.url, { width: 1280, height: 800 });
          const sent: (string | undefined)[] = [];
          page.on("request", (r) => void (r.url().endsWith("/v1/models") && sent.push(r.headers()["authorization"])));
          const auditsListed = page.waitForRequest((r) =>
            r.url().endsWith("/v1/audits") && r.headers()["authorization"] === "Bearer rk_test_123"
          );
          await page.click("#key-box summary");
          await page.type("#api-key", "rk_test_123");
          await page.click("#key-save");
          await page.waitForFunction(() => /set/.test(document.getElementById("key-state")?.textContent ?? ""));
          await page.waitForFunction(() => !document.getElementById("model")?.hasAttribute("disabled"));
          assert.deepEqual(sent, ["Bearer rk_test_123"]);
          await auditsListed; // the Audits panel reloads its list with the key too
          const stored = await page.evaluate(() => [sessionStorage.length, localStorage.length, document.cookie]);
          assert.deepEqual(stored, [1, 0, ""]);
          assert.equal(await page.$eval("#api-key", (e) => (e as HTMLInputElement).value), "", "the field is emptied");
          await page.close();
        },
      );

      await t.step("audits: the sample set audited from the page, its progress as the API's, its report", async () => {
        const { page, problems } = await openPage(browser, server.url, { width: 1280, height: 800 });
        await page.select("#model", "fashion-cnn");
        assert.match(await text(page, "#audits-empty"), /No audits yet/);
        await page.click("#audit-sample");
        const row = "#audits tbody tr[data-audit-id]";
        await page.waitForSelector(row, { timeout: 5_000 });
        const id = await page.$eval(row, (e) => (e as HTMLElement).dataset.auditId!);
        // Bounded: the small plan takes a few seconds on two cores.
        await page.waitForSelector(`${row}[data-status="done"] a.audit-report`, { timeout: 40_000 });
        const view = await (await fetch(`${server.url}/v1/audits/${id}`)).json();
        assert.equal(view.status, "done");
        assert.equal(view.model.id, "fashion-cnn");
        const shown = await page.$eval(`${row} .audit-counts`, (e) => ({ ...(e as HTMLElement).dataset }));
        assert.deepEqual(shown, {
          imagesDone: String(view.progress.images.done),
          imagesTotal: String(view.progress.images.total),
          shardsDone: String(view.progress.shards.done),
          shardsTotal: String(view.progress.shards.total),
        });
        assert.equal(view.progress.images.total, 24, "the sample plan's subsample");
        assert.match(await text(page, `${row} .audit-counts`), /24\/24 images/);
        assert.equal(await text(page, "#audit-status"), `Audit ${id.slice(0, 8)}: done.`);
        const report = await (await fetch(`${server.url}/v1/audits/${id}/report`)).json();
        const clean = `${(100 * report.clean.accuracy.rate).toFixed(1)}%`;
        const opened = browser.waitForTarget((t) => t.url().endsWith(`/v1/audits/${id}/report.html`), {
          timeout: 10_000,
        });
        await page.click(`${row} a.audit-report`);
        const tab = await (await opened).page();
        assert.ok(tab, "the report opened in a tab");
        await tab.waitForSelector('[data-metric="clean"]');
        assert.equal(await text(tab, '[data-metric="clean"]'), clean);
        assert.ok((await text(tab, "body")).includes(clean));
        await page.screenshot({ path: new URL("ui-audits.png", CACHE_DIR).pathname, fullPage: true });
        assert.deepEqual(problems, []);
        await tab.close();
        await page.close();
      });

      await t.step("a file that is not an image: the API's error in words", async () => {
        const bad = await Deno.makeTempFile({ suffix: ".png" });
        await Deno.writeTextFile(bad, "this is not an image");
        const { page } = await openPage(browser, server.url, { width: 1280, height: 800 });
        const input = await page.$("#file");
        await (input as unknown as { uploadFile(path: string): Promise<void> }).uploadFile(bad);
        await runCheck(page);
        const expected = await errorOf(
          await fetch(`${server.url}/v1/models/fashion-cnn/check`, multipartRequest(await Deno.readFile(bad), {})),
        );
        const shown = await text(page, "#error");
        assert.ok(shown.includes(expected.message), `${shown} should include "${expected.message}"`);
        assert.ok(shown.includes(expected.code));
        assert.equal(await page.$eval("#error", (e) => (e as HTMLElement).hidden), false);
        await page.screenshot({ path: new URL("ui-error.png", CACHE_DIR).pathname });
        await page.close();
        await Deno.remove(bad);
      });
    } finally {
      await browser.close();
      await server.shutdown();
    }
  },
});

Deno.test({
  name: "web UI with API keys: the Audits panel sends the pasted key (list, start, poll, the report)",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "robustcheck-ui-keys-" });
    const keysFile = `${dir}/keys.json`;
    const entry = async (id: string, scopes: string[]) => ({ id, sha256: await sha256Hex(`k-${id}`), scopes });
    await Deno.writeTextFile(
      keysFile,
      JSON.stringify({ keys: [await entry("read", ["read"]), await entry("admin", ["admin"])] }),
    );
    const server = await startTestServer({ ROBUSTCHECK_API_KEYS_FILE: keysFile });
    const { default: puppeteer } = await import("puppeteer-core");
    const browser = await puppeteer.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 800 });
      await page.goto(server.url, { waitUntil: "networkidle0" });
      await page.waitForFunction(() => /HTTP 401/.test(document.getElementById("audit-status")?.textContent ?? ""));
      const useKey = async (key: string) => {
        await page.evaluate(() => (document.getElementById("key-box") as HTMLDetailsElement).open = true);
        await page.type("#api-key", key);
        await page.click("#key-save");
        await page.waitForSelector('#model option[value="fashion-cnn"]');
      };
      await useKey("k-read");
      await page.waitForFunction(() => document.getElementById("audit-status")?.textContent === "");
      await page.click("#audit-sample");
      await page.waitForFunction(() => /HTTP 403/.test(document.getElementById("audit-status")?.textContent ?? ""));
      assert.equal(await page.$$eval("#audits tbody tr", (els) => els.length), 0);

      await useKey("k-admin");
      await page.select("#model", "fashion-cnn");
      await page.click("#audit-sample");
      const row = "#audits tbody tr[data-audit-id]";
      await page.waitForSelector(`${row}[data-status="done"] a.audit-report`, { timeout: 40_000 });
      const id = await page.$eval(row, (e) => (e as HTMLElement).dataset.auditId!);
      const auth = { headers: { authorization: "Bearer k-read" } };
      assert.equal((await fetch(`${server.url}/v1/audits/${id}/report.html`)).status, 401, "the report needs a key");
      const report = await (await fetch(`${server.url}/v1/audits/${id}/report`, auth)).json();
      const clean = `${(100 * report.clean.accuracy.rate).toFixed(1)}%`;
      // A plain link cannot carry the key: the page fetches the report with it and opens it as a blob.
      const opened = browser.waitForTarget((t) => t.url().startsWith("blob:"), { timeout: 10_000 });
      await page.click(`${row} a.audit-report`);
      const tab = await (await opened).page();
      assert.ok(tab, "the report opened in a tab");
      await tab.waitForSelector('[data-metric="clean"]');
      assert.equal(await text(tab, '[data-metric="clean"]'), clean);
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
