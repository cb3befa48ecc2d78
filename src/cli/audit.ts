/**
 * `deno task cli audit`: an audit from the terminal, locally (an embedded PGlite database in a
 * temporary directory, in-process workers) or against a server (`--server URL`, `--key` sent as
 * a bearer token for when API keys exist). Shows a progress bar (cli-progress; one line per
 * interval when stderr is not a TTY), writes report.json, report.html and rows.csv to `--out`,
 * and exits with:
 *   0  the audit finished and every gate passed
 *   1  a gate failed (`--fail-under`, `--fail-on-flag`; see gates.ts)
 *   2  bad usage or input (the message says which)
 *   3  the audit failed or was cancelled
 */
import { SingleBar } from "cli-progress";
import { zipSync } from "fflate";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import type { AuditReport } from "../audit/report_schema.ts";
import { auditRowsCsv, renderReportHtml } from "../audit/mod.ts";
import { RequestError } from "../errors.ts";
import { createAuditService, startAuditWorkers } from "../jobs/audits.ts";
import { openJobQueue } from "../jobs/queue.ts";
import { loadRegistry } from "../registry/registry.ts";
import { startWorkerPool } from "../runtime/worker_pool.ts";
import { openStorage } from "../storage/open.ts";
import { evaluateGates, type Gate, parseGate } from "./gates.ts";

export const AUDIT_USAGE =
  `usage: deno task cli audit --model <folder | model.onnx | id> --dataset <folder | archive | list.json | builtin:<name>>
         [--plan plan.json] [--seed N] [--out DIR] [--server URL [--key KEY]] [--backend wasm|native|auto]
         [--fail-under "<attack>@<eps>=<min>"]... [--fail-on-flag]`;

class UsageError extends Error {}

interface Outputs {
  report: AuditReport;
  html: string;
  csv: string;
}

type Dataset =
  | { kind: "builtin"; name: string }
  | { kind: "archive"; bytes: Uint8Array }
  | { kind: "json"; bytes: Uint8Array; value: unknown };

async function readDatasetArg(arg: string): Promise<Dataset> {
  if (arg.startsWith("builtin:")) return { kind: "builtin", name: arg.slice("builtin:".length) };
  const stat = await Deno.stat(arg).catch(() => null);
  if (!stat) throw new UsageError(`--dataset ${arg}: no such file or folder`);
  if (stat.isDirectory) {
    // A folder (ImageFolder layout or labels.csv) travels as a zip, like an uploaded archive.
    const files: Record<string, Uint8Array> = {};
    const walk = async (dir: string) => {
      for await (const e of Deno.readDir(dir)) {
        const path = join(dir, e.name);
        if (e.isDirectory) await walk(path);
        else if (e.isFile) files[relative(arg, path)] = await Deno.readFile(path);
      }
    };
    await walk(arg);
    return { kind: "archive", bytes: zipSync(files, { level: 0 }) };
  }
  const bytes = await Deno.readFile(arg);
  if (arg.endsWith(".json")) return { kind: "json", bytes, value: JSON.parse(new TextDecoder().decode(bytes)) };
  return { kind: "archive", bytes };
}

/** A temporary models folder holding just this model (a folder with manifest.json, or a file + manifest). */
async function modelsDirFor(model: string, manifest?: string): Promise<{ dir: string; id: string }> {
  const stat = await Deno.stat(model).catch(() => null);
  if (!stat) throw new UsageError(`--model ${model}: no such file or folder (locally, give a model folder or file)`);
  const onnx = stat.isDirectory ? join(model, "model.onnx") : model;
  const manifestFile = manifest ??
    (stat.isDirectory ? join(model, "manifest.json") : join(model, "..", "manifest.json"));
  const manifestText = await Deno.readTextFile(manifestFile).catch(() => {
    throw new UsageError(`--model ${model}: no manifest at ${manifestFile} (give --manifest)`);
  });
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-cli-models-" });
  await Deno.mkdir(join(dir, "model"));
  await Deno.writeTextFile(join(dir, "model", "manifest.json"), manifestText);
  await Deno.copyFile(onnx, join(dir, "model", "model.onnx"));
  return { dir, id: JSON.parse(manifestText).id };
}

function progressBar(total: number): SingleBar {
  const bar = new SingleBar({
    format: "audit [{bar}] {value}/{total} images | {status} | {rate} img/s | ETA {eta_formatted}",
    noTTYOutput: true,
    notTTYSchedule: 2000,
    hideCursor: true,
  });
  bar.start(total, 0, { status: "queued", rate: "-" });
  return bar;
}

interface View {
  id: string;
  status: string;
  progress: { images: { done: number; total: number } };
  throughput: number | null;
  error: string | null;
}

async function follow(get: () => Promise<View>, first: View): Promise<View> {
  const bar = progressBar(first.progress.images.total);
  let view = first;
  try {
    while (!["done", "failed", "cancelled"].includes(view.status)) {
      await new Promise((r) => setTimeout(r, 500));
      view = await get();
      bar.update(view.progress.images.done, {
        status: view.status,
        rate: view.throughput === null ? "-" : view.throughput.toFixed(2),
      });
    }
  } finally {
    bar.stop();
  }
  return view;
}

async function runLocal(o: {
  model: string;
  manifest?: string;
  dataset: Dataset;
  plan: unknown;
  backend: string;
}): Promise<{ view: View; outputs: Outputs | null }> {
  const models = await modelsDirFor(o.model, o.manifest);
  const dataDir = await Deno.makeTempDir({ prefix: "robustcheck-cli-data-" });
  const engine = await startWorkerPool({
    backend: o.backend as "wasm",
    threads: navigator.hardwareConcurrency,
    workers: 1,
  });
  const storage = await openStorage({ dataDir });
  const registry = await loadRegistry({
    dir: models.dir,
    engine,
    onFailure: (f) => console.error(`model not loaded: ${f.error}`),
  });
  const queue = await openJobQueue(storage);
  try {
    if (registry.failures.length > 0) throw new UsageError(registry.failures[0].error);
    const service = createAuditService({ audits: storage.audits, registry, queue });
    await startAuditWorkers(service, queue, 1);
    const dataset = o.dataset;
    const created = await service.create({
      modelId: models.id,
      dataset: dataset.kind === "builtin"
        ? dataset
        : dataset.kind === "json"
        ? { kind: "json", value: dataset.value }
        : { kind: "archive", bytes: dataset.bytes },
      datasetBytes: dataset.kind === "builtin" ? null : dataset.bytes,
      plan: o.plan,
    });
    const view = await follow(() => service.get(created.id), created);
    if (view.status !== "done") return { view, outputs: null };
    const { report, shards, labels } = await service.report(created.id);
    return { view, outputs: { report, html: await renderReportHtml(report), csv: auditRowsCsv(shards, labels) } };
  } finally {
    await queue.stop(false);
    await registry.close();
    await storage.close();
    engine.close();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(models.dir, { recursive: true }).catch(() => {});
  }
}

async function runRemote(o: {
  server: string;
  key?: string;
  model: string;
  dataset: Dataset;
  plan: unknown;
}): Promise<{ view: View; outputs: Outputs | null }> {
  const headers: Record<string, string> = o.key ? { authorization: `Bearer ${o.key}` } : {};
  const base = o.server.replace(/\/$/, "");
  const ask = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, { ...init, headers: { ...headers, ...init.headers } });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new UsageError(
        `${base}${path}: ${response.status} ${body?.error?.code ?? ""} ${body?.error?.message ?? response.statusText}`,
      );
    }
    return response;
  };
  const d = o.dataset;
  const created: View =
    await (d.kind === "archive"
      ? ask(`/v1/audits?${new URLSearchParams({ model: o.model, plan: JSON.stringify(o.plan ?? {}) })}`, {
        method: "POST",
        headers: { "content-type": "application/octet-stream" },
        body: d.bytes as Uint8Array<ArrayBuffer>,
      })
      : ask("/v1/audits", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: o.model,
          dataset: d.kind === "builtin" ? { builtin: d.name } : d.value,
          plan: o.plan,
        }),
      })).then((r) => r.json());
  const view = await follow(async () => await (await ask(`/v1/audits/${created.id}`)).json(), created);
  if (view.status !== "done") return { view, outputs: null };
  const path = `/v1/audits/${created.id}`;
  return {
    view,
    outputs: {
      report: await (await ask(`${path}/report`)).json(),
      html: await (await ask(`${path}/report.html`)).text(),
      csv: await (await ask(`${path}/rows.csv`)).text(),
    },
  };
}

export async function auditCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        manifest: { type: "string" },
        dataset: { type: "string" },
        plan: { type: "string" },
        seed: { type: "string" },
        out: { type: "string", default: "." },
        server: { type: "string" },
        key: { type: "string" },
        backend: { type: "string", default: "auto" },
        "fail-under": { type: "string", multiple: true },
        "fail-on-flag": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${AUDIT_USAGE}`);
    return 2;
  }
  if (values.help || !values.model || !values.dataset) {
    console.error(AUDIT_USAGE);
    return values.help ? 0 : 2;
  }
  let gates: Gate[];
  let plan: Record<string, unknown>;
  let dataset: Dataset;
  try {
    gates = (values["fail-under"] ?? []).map(parseGate);
    plan = values.plan ? JSON.parse(await Deno.readTextFile(values.plan)) : {};
    if (values.seed !== undefined) plan = { ...plan, seed: Number(values.seed) };
    dataset = await readDatasetArg(values.dataset);
  } catch (error) {
    console.error(`robustcheck audit: ${(error as Error).message}`);
    return 2;
  }
  let result;
  try {
    result = values.server
      ? await runRemote({ server: values.server, key: values.key, model: values.model, dataset, plan })
      : await runLocal({ model: values.model, manifest: values.manifest, dataset, plan, backend: values.backend! });
  } catch (error) {
    if (error instanceof UsageError || error instanceof RequestError) {
      console.error(`robustcheck audit: ${error.message}`);
      return 2;
    }
    throw error;
  }
  const { view, outputs } = result;
  if (!outputs) {
    console.error(`robustcheck audit: the audit ${view.status}${view.error ? `: ${view.error}` : ""}`);
    return 3;
  }
  await Deno.mkdir(values.out!, { recursive: true });
  await Deno.writeTextFile(join(values.out!, "report.json"), JSON.stringify(outputs.report, null, 2));
  await Deno.writeTextFile(join(values.out!, "report.html"), outputs.html);
  await Deno.writeTextFile(join(values.out!, "rows.csv"), outputs.csv);
  const r = outputs.report;
  console.log(
    `clean accuracy ${r.clean.accuracy.rate}; ` +
      r.robustness.map((x) => `${x.attack}@${x.eps} ${x.accuracy.rate}`).join(", ") +
      `; wrote report.json, report.html, rows.csv to ${values.out}`,
  );
  const failures = evaluateGates(r, gates, values["fail-on-flag"] ?? false);
  for (const f of failures) console.error(`gate failed: ${f}`);
  return failures.length > 0 ? 1 : 0;
}
