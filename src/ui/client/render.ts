/// <reference lib="dom" />
/** Renders a check report into the result panel's reserved slots (src/ui/page.tsx). */
import type { ModelInfo, Report } from "./api.ts";
import { epsCurve, formatEps, percent, round, topKBars } from "./charts.ts";
import type { RankedLabel } from "../../predict/predict.ts";

function $(id: string): HTMLElement {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

function h<K extends keyof HTMLElementTagNameMap>(
  name: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function png(base64: string, alt: string, size: number): HTMLImageElement {
  const img = h("img", { src: `data:image/png;base64,${base64}`, alt, class: "pixelated" });
  img.width = size;
  img.height = size;
  return img;
}

function fill(id: string, ...children: (Node | string)[]): void {
  $(id).replaceChildren(...children);
}

function placeholder(text: string): HTMLElement {
  return h("span", { class: "placeholder" }, text);
}

/** Empties every slot (keeping their reserved size) before a new check. */
export function clearResult(message: string, loading: boolean): void {
  $("error").hidden = true;
  fill("verdict", h("p", { class: "verdict-line" }, message));
  $("verdict").className = "verdict idle";
  for (const id of ["original", "adversarial", "perturbation"]) {
    fill(`${id}-frame`, placeholder(loading ? "…" : "—"));
    fill(`${id}-caption`, "\u00a0");
  }
  fill("curve", placeholder(""));
  fill("topk", placeholder(""));
  ($("attacks").querySelector("tbody") as HTMLElement).replaceChildren();
  fill("squeezed");
  fill("randomized");
  fill("squeeze-summary", "\u00a0");
  fill("randomized-summary", "\u00a0");
  fill("report-json");
}

export function showError(message: string): void {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
}

const SHOT = 168;

export function renderReport(report: Report, model: ModelInfo): void {
  const v = report.verdict;
  const verdict = $("verdict");
  verdict.className = `verdict ${v.suspectedAdversarial ? "bad" : v.fragile ? "warn" : "good"}`;
  const headline = v.suspectedAdversarial
    ? "This input looks adversarial."
    : v.fragile
    ? "Not flagged as adversarial, but the prediction is fragile: an attack within the budget changed it."
    : "Not flagged, and no attack within the budget changed the prediction.";
  const reasons = v.reasons.length
    ? h("ul", { class: "reasons" }, ...v.reasons.map((r) => h("li", {}, r)))
    : h("p", { class: "muted" }, "No reasons: every probe passed.");
  verdict.replaceChildren(
    h("p", { class: "verdict-line", id: "verdict-text" }, headline),
    h(
      "p",
      {},
      `Prediction: “${report.prediction.label}” at ${
        percent(report.prediction.confidence)
      }; label attacked: “${report.label.label}” (${
        report.label.source === "request" ? "given" : "the prediction"
      }). Score `,
      h("strong", { id: "score" }, round(report.score, 3)),
      ` (0 = robust and clean-looking, 1 = fooled/flagged).`,
    ),
    reasons,
  );

  verdict.scrollIntoView({ block: "start" });
  const images = report.images;
  const side = SHOT;
  if (images?.original) fill("original-frame", png(images.original, "The input as the model sees it", side));
  const { height, width, channels } = model.input;
  fill(
    "original-caption",
    `${width}×${height} ${channels === 1 ? "grey" : "RGB"}, shown ${round(side / width, 1)}× larger`,
  );
  if (images?.adversarial) {
    fill("adversarial-frame", png(images.adversarial, `Adversarial image (${images.source})`, side));
    fill("adversarial-caption", images.source.replace(/ε=([\d.e-]+)/g, (_, v) => `ε=${formatEps(Number(v))}`));
  } else {
    fill("adversarial-frame", placeholder("no attack succeeded"));
    fill("adversarial-caption", "nothing to show");
  }
  if (images?.perturbation) {
    fill("perturbation-frame", png(images.perturbation, "The perturbation, amplified to the full grey range", side));
    fill("perturbation-caption", "grey = unchanged");
  } else {
    fill("perturbation-frame", placeholder("—"));
  }

  const sweep = report.sweep;
  if (sweep) {
    const marks = { minimal: report.minimalEpsilon?.linf ?? null, label: report.label.label };
    const curve = epsCurve(sweep, marks, $("curve").clientWidth);
    const rows = sweep.points.map((p) =>
      h(
        "tr",
        {},
        h("td", {}, formatEps(p.eps)),
        h("td", {}, percent(p.labelConfidence)),
        h("td", {}, p.success ? `yes → “${p.adversarial.label}”` : "no"),
      )
    );
    const table = h(
      "details",
      { class: "curve-data" },
      h(
        "summary",
        {},
        `Curve data (${sweep.points.length} ε, PGD L∞, ${sweep.steps} steps, ${sweep.gradient} gradients)`,
      ),
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, h("th", {}, "ε"), h("th", {}, `“${report.label.label}”`), h("th", {}, "fooled?"))),
        h("tbody", {}, ...rows),
      ),
    );
    const legend = h(
      "p",
      { class: "legend" },
      h("span", { class: "swatch dot held" }),
      " prediction held",
      h("span", { class: "swatch dot fooled" }),
      report.target ? ` reached the target “${report.target.label}”` : " prediction changed",
      ...(marks.minimal !== null ? [h("span", { class: "swatch dash" }), " minimal ε found"] : []),
    );
    fill("curve", curve, legend, table);
  } else fill("curve", placeholder("ε-curve off"));

  renderTopK(report.prediction.topK, null);

  const body = $("attacks").querySelector("tbody") as HTMLElement;
  const attackRows = [...report.probes];
  if (report.randomization?.eot) attackRows.push(report.randomization.eot);
  body.replaceChildren(
    ...attackRows.map((p) =>
      h(
        "tr",
        { class: p.success ? "fooled" : "" },
        h("td", {}, `${p.attack} ${p.norm === "linf" ? "L∞" : "L2"}${p.targeted ? " targeted" : ""}`),
        h("td", {}, p.norm === "linf" ? formatEps(p.eps) : round(p.eps, 4)),
        h("td", {}, p.success ? `yes (step ${p.iterations})` : "no"),
        h("td", {}, `“${p.adversarial.label}” ${percent(p.adversarial.confidence)}`),
        h("td", {}, formatEps(p.perturbation.linf)),
      )
    ),
  );
  if (report.minimalEpsilon) {
    const m = report.minimalEpsilon;
    body.append(
      h(
        "tr",
        { class: m.broken ? "fooled" : "" },
        h("td", {}, "minimal ε (bisection)"),
        h("td", {}, m.linf === null ? `> ${round(m.bounds[0], 4)}` : `≤ ${formatEps(m.linf)}`),
        h("td", {}, m.broken ? "yes" : "no, up to the search's high"),
        h("td", {}, "—"),
        h("td", {}, "—"),
      ),
    );
  }

  const squeeze = report.squeeze;
  if (squeeze) {
    const threshold = squeeze.threshold === null ? "no threshold" : `threshold ${round(squeeze.threshold, 4)}`;
    fill(
      "squeeze-summary",
      `Joint score ${round(squeeze.joint, 4)} (L1 distance of the softmax), ${threshold} (${squeeze.thresholdSource})` +
        (squeeze.flagged ? " — flagged." : "."),
    );
    fill(
      "squeezed",
      ...Object.entries(squeeze.scores).map(([name, score]) =>
        h(
          "figure",
          { class: "mini" },
          squeeze.images?.[name] ? png(squeeze.images[name], `Squeezed by ${name}`, 84) : placeholder("—"),
          h("figcaption", {}, h("strong", {}, name), ` score ${round(score, 4)}`),
        )
      ),
    );
  } else fill("squeeze-summary", "Feature squeezing off.");

  const randomization = report.randomization;
  if (randomization) {
    fill(
      "randomized-summary",
      `${
        percent(randomization.agreement)
      } of ${randomization.draws} random resize+pad draws agree with the prediction` +
        (randomization.eot ? `; EoT-PGD fooled ${percent(randomization.eot.fooledFraction)} of its draws.` : "."),
    );
    fill(
      "randomized",
      ...(randomization.images ?? []).map((d, i) =>
        h(
          "figure",
          { class: "mini" },
          png(d.image, `Random draw ${i + 1}`, 84),
          h("figcaption", {}, `“${d.label}” ${percent(d.confidence)}`),
        )
      ),
    );
  } else fill("randomized-summary", "Randomized resizing off.");

  fill(
    "report-json",
    JSON.stringify(report, (_k, v) => (typeof v === "string" && v.length > 200 ? `${v.slice(0, 40)}…` : v), 2),
  );
}

export function renderTopK(clean: RankedLabel[], adversarial: RankedLabel[] | null, note?: string): void {
  const legend = h(
    "p",
    { class: "legend" },
    h("span", { class: "swatch clean" }),
    " clean",
    ...(adversarial ? [h("span", { class: "swatch adv" }), " adversarial"] : []),
    note ? ` — ${note}` : "",
  );
  fill("topk", topKBars(clean, adversarial, $("topk").clientWidth), legend);
}
