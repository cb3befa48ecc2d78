import type { OpenAPIHono } from "@hono/zod-openapi";
import { RequestError } from "../errors.ts";
import { CLIENT_MODULES, clientModule } from "./client_modules.ts";
import { Page } from "./page.tsx";
import { SAMPLES } from "./samples.ts";

const UI_DIR = new URL("./", import.meta.url);

// Everything the page uses comes from this origin; images the API returns arrive as data: URLs.
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * The web UI: `/` (the page), `/ui/<module>.js` (its client code), `/ui/style.css` and `/ui/samples/<file>`.
 * None of it needs an API key: the page is a client of the public API like any other and sends the
 * key the user pastes with each API call.
 */
export function registerUiRoutes(app: OpenAPIHono): void {
  app.get("/", (c) => {
    c.header("Cache-Control", "no-cache");
    c.header("Content-Security-Policy", PAGE_CSP);
    // Start compiling the client modules now: the browser asks for them right after the page.
    for (const name of CLIENT_MODULES) clientModule(name).catch(() => {});
    return c.html(`<!doctype html>${<Page />}`);
  });
  app.get("/ui/style.css", async (c) => {
    c.header("Content-Type", "text/css; charset=utf-8");
    c.header("Cache-Control", "no-cache");
    return c.body(await Deno.readTextFile(new URL("style.css", UI_DIR)));
  });
  app.get("/ui/samples/:file", async (c) => {
    const file = c.req.param("file");
    if (!SAMPLES.some((s) => s.file === file)) throw new RequestError(404, "not_found", `no sample image ${file}`);
    c.header("Content-Type", "image/png");
    c.header("Cache-Control", "public, max-age=3600");
    return c.body(await Deno.readFile(new URL(`samples/${file}`, UI_DIR)));
  });
  app.get("/ui/:module{[a-z_]+\\.js}", async (c) => {
    const name = c.req.param("module").replace(/\.js$/, "");
    if (!CLIENT_MODULES.has(name)) throw new RequestError(404, "not_found", `no UI module ${name}.js`);
    c.header("Content-Type", "text/javascript; charset=utf-8");
    c.header("Cache-Control", "no-cache");
    return c.body(await clientModule(name));
  });
}
