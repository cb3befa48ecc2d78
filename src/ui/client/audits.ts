/// <reference lib="dom" />
/**
 * The Audits panel: the server's audits with status and progress (each unfinished one polled about once a
 * second through GET /v1/audits/{id}), a link to each finished one's HTML report, and a button that
 * audits the selected model on the builtin sample with a small plan, so a newcomer sees one finish.
 */
import {
  ApiError,
  auditReportHtml,
  type AuditView,
  describeError,
  getAudit,
  listAudits,
  startAudit,
  storedKey,
} from "./api.ts";

/** Small enough to finish in seconds on a laptop: 24 images, FGSM and 5-step PGD, no minimal ε. */
export const SAMPLE_PLAN = {
  subsample: { size: 24 },
  shardSize: 8,
  attacks: [
    { kind: "fgsm", eps: [0.05, 0.1] },
    { kind: "pgd", norm: "linf", eps: [0.05], steps: 5 },
  ],
  minimalEpsilon: false,
  squeeze: false,
  randomization: false,
  spsa: false,
  examples: 4,
};
const POLL_MS = 1000;
const FINISHED = new Set(["done", "failed", "cancelled"]);

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

const views = new Map<string, AuditView>();
let polling: ReturnType<typeof setTimeout> | undefined;

function cell(text: string, attrs: Record<string, string> = {}): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  for (const [k, v] of Object.entries(attrs)) td.setAttribute(k, v);
  return td;
}

function reportLink(view: AuditView): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = view.links.html;
  a.target = "_blank";
  a.rel = "noopener";
  a.className = "audit-report";
  a.textContent = "HTML report";
  a.addEventListener("click", async (event) => {
    // With a key the report must be fetched with it; it opens as a blob (it has no scripts).
    if (!storedKey()) return;
    event.preventDefault();
    const tab = globalThis.open("", "_blank");
    try {
      const blob = await auditReportHtml(view.links.html);
      const url = URL.createObjectURL(blob);
      if (tab) tab.location.href = url;
      else location.href = url;
    } catch (error) {
      tab?.close();
      byId("audit-status").textContent = describeError(error);
    }
  });
  return a;
}

function row(view: AuditView): HTMLTableRowElement {
  const tr = document.createElement("tr");
  tr.dataset.auditId = view.id;
  tr.dataset.status = view.status;
  const { images, shards } = view.progress;
  const stages = Object.entries(view.progress.stagesMs).map(([s, ms]) => `${s} ${(ms / 1000).toFixed(1)} s`);
  const eta = view.status === "running" && view.etaSeconds !== null
    ? `, about ${Math.ceil(view.etaSeconds)} s left`
    : "";
  const progress = document.createElement("td");
  const bar = document.createElement("progress");
  bar.max = Math.max(1, images.total);
  bar.value = images.done;
  bar.setAttribute("aria-label", `audit ${view.id.slice(0, 8)}: images done`);
  const counts = document.createElement("span");
  counts.className = "audit-counts";
  counts.dataset.imagesDone = String(images.done);
  counts.dataset.imagesTotal = String(images.total);
  counts.dataset.shardsDone = String(shards.done);
  counts.dataset.shardsTotal = String(shards.total);
  counts.textContent = ` ${images.done}/${images.total} images, ${shards.done}/${shards.total} shards${eta}`;
  progress.append(bar, counts);
  if (stages.length) {
    const small = document.createElement("small");
    small.textContent = ` (${stages.join(", ")})`;
    progress.append(small);
  }
  const report = document.createElement("td");
  if (view.status === "done") report.append(reportLink(view));
  else report.textContent = view.error ?? "—";
  tr.append(
    cell(view.id.slice(0, 8), { title: view.id }),
    cell(`${view.model.id}${view.model.version === null ? "" : ` v${view.model.version}`}`),
    cell(view.status, { class: `audit-state ${view.status}` }),
    progress,
    report,
  );
  return tr;
}

function render(): void {
  const sorted = [...views.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  byId("audits-empty").hidden = sorted.length > 0;
  byId("audits").querySelector("tbody")!.replaceChildren(...sorted.map(row));
}

async function poll(): Promise<void> {
  polling = undefined;
  const unfinished = [...views.values()].filter((v) => !FINISHED.has(v.status));
  try {
    for (const view of await Promise.all(unfinished.map((v) => getAudit(v.id)))) {
      views.set(view.id, view);
      if (FINISHED.has(view.status)) byId("audit-status").textContent = `Audit ${view.id.slice(0, 8)}: ${view.status}.`;
    }
  } catch (error) {
    byId("audit-status").textContent = describeError(error);
  }
  render();
  schedule();
}

function schedule(): void {
  if (polling === undefined && [...views.values()].some((v) => !FINISHED.has(v.status))) {
    polling = setTimeout(poll, POLL_MS);
  }
}

/** Loads the server's audits (again: after the key changes, say). */
export async function loadAudits(): Promise<void> {
  try {
    const { audits } = await listAudits();
    views.clear();
    for (const view of audits) views.set(view.id, view);
    byId("audit-status").textContent = "";
  } catch (error) {
    const unavailable = error instanceof ApiError && error.code === "audits_unavailable";
    byId<HTMLButtonElement>("audit-sample").disabled = unavailable;
    byId("audit-status").textContent = unavailable ? "This server runs without audits." : describeError(error);
  }
  render();
  schedule();
}

/** Starts an audit of `model` on the builtin sample; its row appears at once and updates as it runs. */
export async function auditSample(model: string | undefined): Promise<void> {
  const status = byId("audit-status");
  if (!model) {
    status.textContent = "Choose a model first.";
    return;
  }
  const button = byId<HTMLButtonElement>("audit-sample");
  button.disabled = true;
  status.textContent = `Starting an audit of ${model} on the sample set…`;
  try {
    const view = await startAudit({ model, dataset: { builtin: "fashion-mnist-sample" }, plan: SAMPLE_PLAN });
    views.set(view.id, view);
    status.textContent = `Audit ${view.id.slice(0, 8)} started: its progress updates below.`;
  } catch (error) {
    status.textContent = describeError(error);
  } finally {
    button.disabled = false;
  }
  render();
  schedule();
}
