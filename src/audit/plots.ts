/**
 * The report's charts as inline SVG strings, rendered on the server by Observable Plot with a
 * linkedom document (no browser, no scripts in the output). Each function takes report data and
 * returns markup; the markup is an <svg> (or a <figure> when Plot adds a legend) with the SVG
 * namespace set so it also stands alone as a file.
 */
import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import type { AuditReport } from "./report_schema.ts";

const WIDTH = 560;
const HEIGHT = 300;

/** The part of linkedom's DOM this module touches (Deno's type check has no DOM library). */
interface DomElement {
  tagName: string;
  outerHTML: string;
  setAttribute(name: string, value: string): void;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
}

function render(options: Plot.PlotOptions): string {
  const { document } = parseHTML("<!DOCTYPE html><html><body></body></html>") as unknown as { document: unknown };
  const node = Plot.plot({
    width: WIDTH,
    height: HEIGHT,
    style: { fontSize: "12px", background: "white" },
    ...options,
    document: document as never,
  }) as unknown as DomElement;
  for (const svg of node.tagName.toLowerCase() === "svg" ? [node] : Array.from(node.querySelectorAll("svg"))) {
    svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  }
  return node.outerHTML;
}

/**
 * Robust accuracy vs ε for one norm: one coloured line per attack with its 95% band, and the
 * worst case over attacks as a dashed black line with a grey band on top.
 */
export function robustnessPlot(report: AuditReport, norm: "linf" | "l2"): string | null {
  const points = report.robustness.filter((r) => r.norm === norm && r.accuracy.rate !== null)
    .map((r) => ({ series: r.attack, eps: r.eps, ...r.accuracy }));
  const worst = report.worstCase.filter((w) => w.norm === norm && w.accuracy.rate !== null)
    .map((w) => ({ eps: w.eps, ...w.accuracy }));
  if (points.length === 0) return null;
  const maxEps = Math.max(...points.map((p) => p.eps));
  return render({
    x: { label: norm === "linf" ? "ε (L∞, [0,1] pixels)" : "ε (L2, [0,1] pixels)", domain: [0, maxEps * 1.05] },
    y: { label: "robust accuracy", domain: [0, 1], grid: true, tickFormat: "%" },
    color: { legend: true },
    marks: [
      Plot.areaY(points, {
        x: "eps",
        y1: "low",
        y2: "high",
        z: "series",
        fill: "series",
        fillOpacity: 0.12,
        curve: "linear",
      }),
      // Interval bars too, so an attack with a single ε still shows its interval.
      Plot.ruleX(points, { x: "eps", y1: "low", y2: "high", stroke: "series", strokeOpacity: 0.6 }),
      Plot.ruleX(worst, { x: "eps", y1: "low", y2: "high", stroke: "black", strokeOpacity: 0.4 }),
      Plot.lineY(points, { x: "eps", y: "rate", z: "series", stroke: "series", strokeWidth: 2, marker: "circle" }),
      Plot.areaY(worst, { x: "eps", y1: "low", y2: "high", fill: "black", fillOpacity: 0.07, curve: "linear" }),
      Plot.lineY(worst, {
        x: "eps",
        y: "rate",
        stroke: "black",
        strokeWidth: 1.5,
        strokeDasharray: "6,4",
        marker: "circle-stroke",
      }),
      Plot.ruleY([0]),
    ],
  });
}

/** ROC of feature-squeezing detection (clean vs successful adversarial examples). */
export function rocPlot(report: AuditReport): string | null {
  const d = report.detection;
  if (!d || d.roc.length === 0) return null;
  const marks: Plot.Markish[] = [
    Plot.line([[0, 0], [1, 1]], { stroke: "#bbb", strokeDasharray: "4,4" }),
    Plot.line(d.roc, { x: "fpr", y: "tpr", stroke: "steelblue", strokeWidth: 2, curve: "step-before" }),
  ];
  if (d.atThreshold && d.atThreshold.falsePositiveRate.rate !== null && d.atThreshold.detectionRate.rate !== null) {
    marks.push(
      Plot.dot([{ fpr: d.atThreshold.falsePositiveRate.rate, tpr: d.atThreshold.detectionRate.rate }], {
        x: "fpr",
        y: "tpr",
        r: 5,
        fill: "crimson",
      }),
    );
  }
  return render({
    height: 320,
    width: 340,
    x: { label: "false-positive rate (clean)", domain: [0, 1] },
    y: { label: "detection rate (adversarial)", domain: [0, 1], grid: true },
    marks,
  });
}

/** Minimal-ε histogram over [0, high]. */
export function minimalEpsilonPlot(report: AuditReport): string | null {
  const m = report.minimalEpsilon;
  if (!m || m.images === 0) return null;
  return render({
    x: { label: "smallest L∞ ε that flipped the prediction" },
    y: { label: "images", grid: true },
    marks: [
      Plot.rectY(m.histogram, { x1: "low", x2: "high", y: "count", fill: "steelblue", inset: 0.5 }),
      Plot.ruleY([0]),
    ],
  });
}

/** Per-class clean accuracy and worst-case robust accuracy at each L∞ ε. */
export function perClassPlot(report: AuditReport): string | null {
  const bars = report.perClass.flatMap((c) => [
    { label: c.label, series: "clean", rate: c.clean.rate },
    ...c.worstCase.filter((w) => w.norm === "linf").map((w) => ({
      label: c.label,
      series: `worst L∞ ε=${w.eps}`,
      rate: w.accuracy.rate,
    })),
  ]).filter((b) => b.rate !== null);
  if (bars.length === 0) return null;
  return render({
    height: 40 + 22 * report.perClass.length * Math.max(1, new Set(bars.map((b) => b.series)).size) / 2,
    marginLeft: 110,
    x: { label: "accuracy", domain: [0, 1], grid: true, tickFormat: "%" },
    y: { label: null, axis: null },
    fy: { label: null, domain: report.perClass.map((c) => c.label) },
    color: { legend: true },
    marks: [Plot.barX(bars, { x: "rate", y: "series", fy: "label", fill: "series" }), Plot.ruleX([0])],
  });
}

/** Randomized-resize agreement histogram. */
export function agreementPlot(report: AuditReport): string | null {
  const r = report.randomization;
  if (!r || r.agreement.mean === null) return null;
  return render({
    height: 220,
    x: { label: "share of random resizes agreeing with the clean prediction", domain: [0, 1] },
    y: { label: "images", grid: true },
    marks: [
      Plot.rectY(r.agreement.histogram, { x1: "low", x2: "high", y: "count", fill: "seagreen", inset: 0.5 }),
      Plot.ruleY([0]),
    ],
  });
}
