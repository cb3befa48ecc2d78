/// <reference lib="dom" />
/**
 * The page's behaviour: load the models, take an image (file, drop or sample), compose the check
 * options from the form, call /check (then /predict on the adversarial image) and render the report.
 */
import {
  ApiError,
  check,
  describeError,
  listModels,
  type ModelInfo,
  pngBlob,
  predict,
  storedKey,
  storeKey,
} from "./api.ts";
import { auditSample, loadAudits } from "./audits.ts";
import { round } from "./charts.ts";
import { clearResult, renderReport, renderTopK, showError } from "./render.ts";

const PROBES = ["squeeze", "randomization", "fgsm", "pgd", "minimalEpsilon", "sweep"] as const;
const RETURNED = ["adversarial", "perturbation", "original"];
const SWEEP_POINTS = 8;

function byId<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node as T;
}

const form = byId<HTMLFormElement>("check-form");
const modelSelect = byId<HTMLSelectElement>("model");
const labelSelect = byId<HTMLSelectElement>("label");
const targetSelect = byId<HTMLSelectElement>("target");
const fileInput = byId<HTMLInputElement>("file");
const runButton = byId<HTMLButtonElement>("run");
const status = byId<HTMLElement>("status");
const optionsJson = byId<HTMLElement>("options-json");

let models: ModelInfo[] = [];
let image: { blob: Blob; name: string } | null = null;
let running = false;

function currentModel(): ModelInfo | undefined {
  return models.find((m) => m.id === modelSelect.value);
}

function numberOf(id: string): number | undefined {
  const raw = byId<HTMLInputElement>(id).value.trim();
  if (raw === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

function checked(key: string): boolean {
  return byId<HTMLInputElement>(`probe-${key}`).checked;
}

/** The request's options: only what the form says; everything else takes the server's defaults. */
function composeOptions(): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (labelSelect.value !== "") options.label = Number(labelSelect.value);
  if (targetSelect.value !== "") options.target = Number(targetSelect.value);
  const seed = numberOf("seed");
  if (seed !== undefined) options.seed = seed;
  for (const key of PROBES) if (!checked(key)) options[key] = false;
  if (checked("squeeze")) options.squeeze = { return: ["squeezed"] };
  if (checked("randomization")) options.randomization = { return: ["randomized"] };
  const pgdEps = numberOf("pgd-eps");
  const pgdSteps = numberOf("pgd-steps");
  if (checked("pgd") && pgdEps !== undefined) {
    options.pgd = [{ norm: "linf", eps: pgdEps, ...(pgdSteps !== undefined ? { steps: pgdSteps } : {}) }];
  }
  const high = numberOf("minimal-high");
  if (checked("minimalEpsilon")) options.minimalEpsilon = high !== undefined ? { high } : {};
  if (checked("sweep")) {
    const max = numberOf("sweep-max") ?? high;
    const points = numberOf("sweep-points") ?? SWEEP_POINTS;
    options.sweep = max !== undefined
      ? { eps: Array.from({ length: points }, (_, k) => Number(((max * (k + 1)) / points).toPrecision(6))) }
      : {};
  }
  options.return = RETURNED;
  return options;
}

function showOptions(): void {
  optionsJson.textContent = JSON.stringify(composeOptions(), null, 2);
}

function updateRunButton(): void {
  runButton.disabled = running || !image || !currentModel();
}

function classOptions(select: HTMLSelectElement, first: string, labels: string[]): void {
  const keep = select.value;
  select.replaceChildren(new Option(first, ""), ...labels.map((l, i) => new Option(`${i}: ${l}`, String(i))));
  if (keep !== "" && Number(keep) < labels.length) select.value = keep;
}

function showModel(): void {
  const model = currentModel();
  const facts = byId<HTMLElement>("model-facts");
  if (!model) {
    facts.replaceChildren();
    return;
  }
  const { channels, height, width, layout, scale } = model.input;
  const gradient = model.gradient.mode === "exact"
    ? "exact (derived from the ONNX graph)"
    : `estimated by SPSA${model.gradient.reason ? `: ${model.gradient.reason}` : ""}`;
  const threshold = model.squeeze.threshold === null
    ? "none (not calibrated)"
    : `${round(model.squeeze.threshold, 4)} (${model.squeeze.source})`;
  const rows: [string, string | Node][] = [
    ["Input", `${width}×${height}, ${channels === 1 ? "greyscale" : `${channels} channels`} (${layout}, ${scale})`],
    ["Gradients", gradient],
    ["Squeeze threshold", threshold],
    ["Backend", model.backend],
  ];
  const labels = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `${model.labels.length} classes`;
  const list = document.createElement("ol");
  list.start = 0;
  list.append(...model.labels.map((l) => Object.assign(document.createElement("li"), { textContent: l })));
  labels.append(summary, list);
  rows.push(["Labels", labels]);
  facts.replaceChildren(
    ...rows.flatMap(([term, value]) => [
      Object.assign(document.createElement("dt"), { textContent: term }),
      (() => {
        const dd = document.createElement("dd");
        dd.append(value);
        return dd;
      })(),
    ]),
  );
  classOptions(labelSelect, "the prediction", model.labels);
  classOptions(targetSelect, "none: untargeted", model.labels);
  showOptions();
  updateRunButton();
}

function setImage(blob: Blob, name: string, sample?: HTMLButtonElement): void {
  image = { blob, name };
  for (const b of document.querySelectorAll<HTMLButtonElement>(".sample")) {
    b.setAttribute("aria-pressed", String(b === sample));
  }
  if (!sample) fileInput.setAttribute("data-chosen", name);
  byId("image-state").textContent = `Image: ${name} (${Math.max(1, Math.round(blob.size / 1024))} KB).`;
  if (!running) status.textContent = "Ready: press “Run check”.";
  updateRunButton();
}

async function loadModels(): Promise<void> {
  status.textContent = "Loading models…";
  try {
    ({ models } = await listModels());
  } catch (error) {
    showError(describeError(error));
    status.textContent = "The models could not be loaded.";
    if (storedKey() === null) byId<HTMLDetailsElement>("key-box").open = true;
    return;
  }
  byId("error").hidden = true;
  if (models.length === 0) {
    modelSelect.replaceChildren(new Option("no model loaded", ""));
    status.textContent = "The server has no model loaded.";
    return;
  }
  const previous = modelSelect.value;
  modelSelect.replaceChildren(...models.map((m) => new Option(`${m.id} (${m.labels.length} classes)`, m.id)));
  if (models.some((m) => m.id === previous)) modelSelect.value = previous;
  modelSelect.disabled = false;
  status.textContent = image ? "Ready." : "Choose an image, then run the check.";
  showModel();
}

async function run(): Promise<void> {
  const model = currentModel();
  if (!model || !image || running) return;
  running = true;
  updateRunButton();
  const options = composeOptions();
  const result = byId("result");
  result.setAttribute("aria-busy", "true");
  clearResult("Checking… the server is running the attacks (a few seconds).", true);
  status.textContent = `Checking ${image.name} with ${model.id}…`;
  const started = performance.now();
  try {
    const report = await check(model.id, image.blob, options);
    renderReport(report, model);
    status.textContent = `Done in ${round((performance.now() - started) / 1000, 1)} s (seed ${report.seed}, ` +
      `${report.backend}, cost ${report.cost.estimated} of ${report.cost.budget} forward passes).`;
    const adversarial = report.images?.adversarial;
    if (adversarial) {
      const again = await predict(model.id, pngBlob(adversarial), report.prediction.topK.length);
      renderTopK(
        report.prediction.topK,
        again.prediction.topK,
        "the returned 8-bit PNG, classified again by /predict",
      );
    }
  } catch (error) {
    clearResult("No result: see the error above.", false);
    showError(describeError(error));
    status.textContent = "The check failed.";
    if (error instanceof ApiError && error.status === 401) byId<HTMLDetailsElement>("key-box").open = true;
  } finally {
    running = false;
    result.setAttribute("aria-busy", "false");
    updateRunButton();
  }
}

function showKeyState(): void {
  byId("key-state").textContent = storedKey() ? "set (this tab)" : "none";
}

modelSelect.addEventListener("change", showModel);
fileInput.addEventListener("change", () => {
  const file = fileInput.files?.[0];
  if (file) setImage(file, file.name);
});
const drop = byId("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  const file = event.dataTransfer?.files[0];
  if (file) setImage(file, file.name);
});
for (const button of document.querySelectorAll<HTMLButtonElement>(".sample")) {
  button.addEventListener("click", async () => {
    const name = button.dataset.className ?? "sample";
    const response = await fetch(`/ui/samples/${button.dataset.file}`);
    if (!response.ok) {
      showError(`The sample image could not be loaded (HTTP ${response.status}).`);
      return;
    }
    setImage(await response.blob(), `sample “${name}”`, button);
    const model = currentModel();
    const index = Number(button.dataset.classIndex);
    // The sample's true class becomes the label when the model has that class at that index.
    if (model?.labels[index] === name) labelSelect.value = String(index);
    showOptions();
  });
}
form.addEventListener("input", showOptions);
form.addEventListener("change", showOptions);
form.addEventListener("submit", (event) => {
  event.preventDefault();
  run();
});
byId("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>("api-key");
  storeKey(input.value.trim() || null);
  input.value = "";
  showKeyState();
  loadModels();
  loadAudits();
});
byId("key-clear").addEventListener("click", () => {
  storeKey(null);
  showKeyState();
});

byId("audit-sample").addEventListener("click", () => auditSample(currentModel()?.id));

showKeyState();
showOptions();
loadModels();
loadAudits();
