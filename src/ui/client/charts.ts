/// <reference lib="dom" />
/** Inline SVG charts drawn from the report's numbers (no chart library: two small charts). */
import type { SweepSection } from "../../check/probes/sweep.ts";
import type { RankedLabel } from "../../predict/predict.ts";

const SVG = "http://www.w3.org/2000/svg";

function el<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** ε in [0,1] pixels and in /255 steps, as the page prints it everywhere. */
export function formatEps(eps: number): string {
  return `${round(eps, 4)} (${round(eps * 255, 1)}/255)`;
}

export function round(v: number, digits: number): string {
  return String(Number(v.toFixed(digits)));
}

export function percent(p: number): string {
  return `${(100 * p).toFixed(p >= 0.995 || p < 0.001 ? 1 : 0)}%`;
}

export interface CurveMarks {
  /** The minimal-ε search's upper bound on the robust radius, or null. */
  minimal: number | null;
  label: string;
}

/**
 * The label's softmax confidence after PGD L∞ at each ε of the sweep; a red dot where the attack
 * changed the prediction, a blue one where it held; a dashed line at the minimal ε found.
 */
export function epsCurve(section: SweepSection, marks: CurveMarks, width: number): SVGSVGElement {
  // Drawn at the slot's pixel width, so the text keeps its size on a phone.
  const W = Math.max(300, Math.round(width)), H = 250, left = 48, right = 30, top = 16, bottom = 58;
  const points = section.points;
  const maxEps = Math.max(...points.map((p) => p.eps), marks.minimal ?? 0) || 1;
  const x = (eps: number) => left + (eps / maxEps) * (W - left - right);
  const y = (p: number) => top + (1 - p) * (H - top - bottom);
  const svg = el("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `Confidence of "${marks.label}" after PGD L∞ at ${points.length} values of ε up to ${
      round(maxEps, 4)
    }`,
    class: "curve-svg",
  });
  for (const p of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", { x1: left, x2: W - right, y1: y(p), y2: y(p), class: "grid" }));
    svg.append(el("text", { x: left - 6, y: y(p) + 4, "text-anchor": "end", class: "tick" }, percent(p)));
  }
  const ticks = Array.from({ length: 5 }, (_, k) => (maxEps * k) / 4);
  for (const t of ticks) {
    svg.append(el("line", { x1: x(t), x2: x(t), y1: H - bottom, y2: H - bottom + 4, class: "axis" }));
    svg.append(el("text", { x: x(t), y: H - bottom + 16, "text-anchor": "middle", class: "tick" }, round(t, 3)));
    svg.append(
      el(
        "text",
        { x: x(t), y: H - bottom + 30, "text-anchor": "middle", class: "tick sub" },
        `${round(t * 255, 1)}/255`,
      ),
    );
  }
  svg.append(el("line", { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: "axis" }));
  svg.append(
    el(
      "text",
      { x: (left + W - right) / 2, y: H - 8, "text-anchor": "middle", class: "axis-title" },
      "ε (L∞, [0,1] pixels; /255 below)",
    ),
  );
  if (marks.minimal !== null) {
    const mx = x(marks.minimal);
    svg.append(el("line", { x1: mx, x2: mx, y1: top, y2: H - bottom, class: "minimal" }));
    svg.append(
      el("text", { x: mx + 4, y: top + 10, class: "tick minimal-label" }, `minimal ε ≤ ${round(marks.minimal, 4)}`),
    );
  }
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(p.eps).toFixed(1)},${y(p.labelConfidence).toFixed(1)}`);
  svg.append(el("path", { d: path.join(""), class: "line" }));
  for (const p of points) {
    const dot = el("circle", {
      cx: x(p.eps),
      cy: y(p.labelConfidence),
      r: 5,
      class: p.success ? "dot fooled" : "dot held",
      "data-eps": p.eps,
      "data-confidence": p.labelConfidence,
      "data-success": String(p.success),
    });
    dot.append(
      el(
        "title",
        {},
        `ε = ${formatEps(p.eps)}: "${marks.label}" at ${percent(p.labelConfidence)}; ${
          p.success ? `attack succeeded → "${p.adversarial.label}"` : "prediction held"
        }`,
      ),
    );
    svg.append(dot);
  }
  return svg;
}

/** Horizontal bars: each class of either top-k, clean (blue) above adversarial (red). */
export function topKBars(clean: RankedLabel[], adversarial: RankedLabel[] | null, width: number): SVGSVGElement {
  const classes: { index: number; label: string }[] = [];
  for (const r of [...clean, ...(adversarial ?? [])]) {
    if (!classes.some((c) => c.index === r.index)) classes.push(r);
  }
  const W = Math.max(300, Math.round(width)), rowH = adversarial ? 34 : 22, labelW = 96, right = 76;
  const H = classes.length * rowH + 8;
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "topk-svg" });
  svg.setAttribute("aria-label", "Top-k softmax probabilities, clean" + (adversarial ? " and adversarial" : ""));
  const barW = (p: number) => Math.max(1, p * (W - labelW - right));
  classes.forEach((c, i) => {
    const y0 = 4 + i * rowH;
    svg.append(el("text", { x: labelW - 8, y: y0 + 13, "text-anchor": "end", class: "tick" }, c.label));
    const rows: [string, RankedLabel[] | null][] = [["clean", clean], ["adv", adversarial]];
    rows.forEach(([kind, list], k) => {
      if (!list) return;
      const found = list.find((r) => r.index === c.index);
      const p = found?.probability ?? 0;
      const yy = y0 + k * 14;
      const bar = el("rect", { x: labelW, y: yy + 2, width: barW(p), height: 12, class: `bar ${kind}` });
      bar.setAttribute("data-probability", String(p));
      bar.append(el("title", {}, `${kind === "clean" ? "clean" : "adversarial"}: ${c.label} ${percent(p)}`));
      svg.append(bar);
      const text = found ? percent(p) : "not in top-k";
      svg.append(el("text", { x: labelW + barW(p) + 4, y: yy + 12, class: "tick" }, text));
    });
  });
  return svg;
}
