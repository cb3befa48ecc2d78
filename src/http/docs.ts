import type { OpenAPIHono } from "@hono/zod-openapi";
import swaggerUiDistPath from "swagger-ui-dist/absolute-path.js";
import { errorBody } from "./errors.ts";

/**
 * `/docs`: an interactive API reference (Swagger UI) served entirely by the service — the page, its script and
 * its assets come from the `swagger-ui-dist` npm package, so it works where no CDN is reachable, and the page's
 * Content-Security-Policy keeps the browser from loading anything from another origin.
 *
 * Routes: `/docs` (the page), `/docs/init.js` (Swagger UI's configuration), `/docs/assets/<version>/<file>`
 * (the package's files; the version in the path makes them safe to cache forever).
 */
export function registerDocsRoutes(app: OpenAPIHono, specUrl: string): void {
  const swaggerUi = swaggerUiFiles();
  app.get("/docs", async (c) => {
    const { version } = await swaggerUi();
    c.header("Cache-Control", "no-cache");
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(docsPage(`/docs/assets/${version}`, specUrl));
  });
  app.get("/docs/init.js", (c) => {
    c.header("Cache-Control", "no-cache");
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(initScript(specUrl));
  });
  app.get("/docs/assets/:version/:file", async (c) => {
    const ui = await swaggerUi();
    const file = c.req.param("file");
    const type = ASSET_TYPES.get(file);
    if (c.req.param("version") !== ui.version || type === undefined) {
      return c.json(errorBody("not_found", `no docs asset ${file} for Swagger UI ${c.req.param("version")}`), 404);
    }
    const asset = await ui.asset(file);
    c.header("Content-Type", type);
    c.header("Cache-Control", "public, max-age=31536000, immutable");
    c.header("Vary", "Accept-Encoding");
    if (asset.gzip && /\bgzip\b/.test(c.req.header("Accept-Encoding") ?? "")) {
      c.header("Content-Encoding", "gzip");
      return c.body(asset.gzip as Uint8Array<ArrayBuffer>);
    }
    return c.body(asset.bytes as Uint8Array<ArrayBuffer>);
  });
}

/** The package files the page uses, with their content types (anything else under /docs/assets is a 404). */
const ASSET_TYPES = new Map([
  ["swagger-ui-bundle.js", "text/javascript; charset=utf-8"],
  ["swagger-ui.css", "text/css; charset=utf-8"],
  ["favicon-32x32.png", "image/png"],
  ["favicon-16x16.png", "image/png"],
]);

// Swagger UI sets inline styles and renders SVG icons as data: URLs; everything else must come from this origin.
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function docsPage(assets: string, specUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>robustcheck API</title>
<link rel="stylesheet" href="${assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="${assets}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="${assets}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<noscript>This reference needs JavaScript; the document it renders is <a href="${specUrl}">${specUrl}</a>.</noscript>
<div id="swagger-ui"></div>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`;
}

function initScript(specUrl: string): string {
  // validatorUrl "none": Swagger UI would otherwise send the document to an online validator.
  return `window.ui = SwaggerUIBundle(${
    JSON.stringify({
      url: specUrl,
      dom_id: "#swagger-ui",
      layout: "BaseLayout",
      deepLinking: true,
      displayOperationId: true,
      displayRequestDuration: true,
      tryItOutEnabled: true,
      validatorUrl: "none",
      defaultModelsExpandDepth: 0,
    })
  });\n`;
}

interface SwaggerUi {
  version: string;
  /** `gzip` only for text: PNGs are compressed already. */
  asset(file: string): Promise<{ bytes: Uint8Array; gzip?: Uint8Array }>;
}

/**
 * The package's files, located on first use by the package's own `absolutePath()` (so any working directory
 * works), each read and compressed once.
 */
function swaggerUiFiles(): () => Promise<SwaggerUi> {
  let loaded: Promise<SwaggerUi> | undefined;
  return () =>
    loaded ??= (async () => {
      const dir = swaggerUiDistPath();
      const { version } = JSON.parse(await Deno.readTextFile(`${dir}/package.json`));
      const assets = new Map<string, Promise<{ bytes: Uint8Array; gzip?: Uint8Array }>>();
      const read = async (file: string) => {
        const bytes = await Deno.readFile(`${dir}/${file}`);
        return { bytes, gzip: file.endsWith(".png") ? undefined : await gzip(bytes) };
      };
      return {
        version,
        asset(file) {
          if (!assets.has(file)) assets.set(file, read(file));
          return assets.get(file)!;
        },
      };
    })();
}

/** Compressed once per file: the bundle is 1.7 MB as shipped, ~0.5 MB gzipped. */
async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
