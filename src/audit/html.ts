/**
 * The audit report as one self-contained HTML file: inline CSS, inline SVG charts rendered on the
 * server (plots.ts), examples as data: URLs, no scripts and no external resources. Every value
 * comes from the report JSON; every string from the user (labels, names, ids) is escaped. Key
 * numbers carry `data-metric` attributes (e.g. `robust:pgd-linf:0.1`) so tools and tests can
 * read them back.
 */
import type { AuditReport } from "./report_schema.ts";

type Estimate = AuditReport["clean"]["accuracy"];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A rate as a percentage with one decimal ("—" when undefined). */
export function percent(rate: number | null): string {
  return rate === null ? "—" : `${(100 * rate).toFixed(1)}%`;
}

function estimateCell(e: Estimate, metric: string): string {
  const interval = e.low === null || e.high === null
    ? ""
    : ` <span class="ci">[${percent(e.low)}, ${percent(e.high)}]</span>`;
  return `<td data-metric="${escapeHtml(metric)}">${
    percent(e.rate)
  }</td><td class="ci">${e.count}/${e.total}${interval}</td>`;
}

const figure = (svg: string | null, caption: string) =>
  svg === null ? "" : `<figure class="chart">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1d2330;margin:0 auto;max-width:1180px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid #dde;padding-bottom:4px;margin-top:32px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eef;text-align:left;vertical-align:top}
th{background:#f4f6fa;font-weight:600}.ci{color:#667;font-size:12px}.lead{color:#445}
.charts{display:flex;flex-wrap:wrap;gap:16px}.chart{margin:0}.chart figcaption{color:#556;font-size:12px}
.flag{border-left:4px solid #d08a00;background:#fff8e8;padding:8px 12px;margin:8px 0}.flag.info{border-color:#4a7bd0;background:#eef4ff}
.flag code{font-weight:600}.ok{color:#2a7a2a}
.examples{display:flex;flex-wrap:wrap;gap:14px}.example{border:1px solid #dde;padding:8px;font-size:12px}
.example img{width:84px;height:84px;image-rendering:pixelated;border:1px solid #ccd;margin-right:4px}
pre{background:#f6f7f9;padding:8px;overflow:auto;max-height:320px;font-size:12px}
`;

/**
 * The report as one self-contained HTML page. The plotting libraries (Observable Plot, linkedom) load on the first
 * call, not with the server: they cost ~150 ms of start-up that only a report page needs.
 */
export async function renderReportHtml(report: AuditReport): Promise<string> {
  const { agreementPlot, minimalEpsilonPlot, perClassPlot, robustnessPlot, rocPlot } = await import("./plots.ts");
  const p = report.provenance;
  const names = report.perClass.map((c) => c.label);
  const label = (i: number) => escapeHtml(names[i] ?? String(i));
  const parts: string[] = [];
  parts.push(
    `<header><h1>Robustness audit: ${escapeHtml(p.model.id)}${
      p.model.version ? ` (${escapeHtml(p.model.version)})` : ""
    }</h1>
<p class="lead">${report.images.evaluated} of ${report.images.total} images evaluated${
      report.images.errors ? ` (${report.images.errors} could not be decoded)` : ""
    };
clean accuracy <strong data-metric="clean">${percent(report.clean.accuracy.rate)}</strong>
<span class="ci">[${percent(report.clean.accuracy.low)}, ${
      percent(report.clean.accuracy.high)
    }]</span>; seed ${p.seed}; backend ${escapeHtml(p.model.backend)}, ${
      escapeHtml(p.model.gradientMode)
    } gradients.</p></header>`,
  );

  parts.push(`<section id="summary"><h2>Worst case over attacks</h2>
<p class="lead">An image counts as robust at ε only if every white-box attack at that ε failed on it. Intervals are 95% Wilson intervals.</p>
<table><tr><th>norm</th><th>ε</th><th>robust accuracy</th><th>robust / images [95% CI]</th><th>attacks</th></tr>
${
    report.worstCase.map((w) =>
      `<tr><td>${w.norm === "linf" ? "L∞" : "L2"}</td><td>${w.eps}</td>${
        estimateCell(w.accuracy, `worst:${w.norm}:${w.eps}`)
      }<td>${w.attacks.map(escapeHtml).join(", ")}</td></tr>`
    ).join("\n")
  }
</table></section>`);

  parts.push(
    `<section id="flags"><h2>Flags</h2>${
      report.flags.length === 0
        ? `<p class="ok">No warning: none of the evaluation checks fired.</p>`
        : report.flags.map((f) =>
          `<div class="flag ${f.severity}" data-flag="${escapeHtml(f.code)}"><code>${escapeHtml(f.code)}</code> — ${
            escapeHtml(f.message)
          }<br><strong>What it may mean:</strong> ${escapeHtml(f.meaning)}<br><strong>What to do:</strong> ${
            escapeHtml(f.action)
          }</div>`
        ).join("\n")
    }</section>`,
  );

  parts.push(`<section id="robustness"><h2>Robust accuracy per attack</h2><div class="charts">
${
    figure(
      robustnessPlot(report, "linf"),
      "Robust accuracy vs L∞ ε per attack (bands: 95% Wilson intervals); dashed black (grey band): worst case over attacks.",
    )
  }
${
    figure(
      robustnessPlot(report, "l2"),
      "Robust accuracy vs L2 ε per attack (bands: 95% Wilson intervals); dashed black (grey band): worst case over attacks.",
    )
  }</div>
<table><tr><th>attack</th><th>norm</th><th>ε</th><th>robust accuracy</th><th>robust / images [95% CI]</th></tr>
${
    report.robustness.map((r) =>
      `<tr><td>${escapeHtml(r.attack)}</td><td>${r.norm}</td><td>${r.eps}</td>${
        estimateCell(r.accuracy, `robust:${r.attack}:${r.eps}`)
      }</tr>`
    ).join("\n")
  }
</table></section>`);

  const d = report.detection;
  if (d) {
    parts.push(`<section id="detection"><h2>Feature-squeezing detection</h2>
<p class="lead">Squeezers ${
      d.squeezers.map(escapeHtml).join(", ")
    }; ${d.clean} clean images vs ${d.adversarial} successful adversarial examples from this audit.
AUC <strong data-metric="auc">${d.auc === null ? "—" : d.auc.toFixed(3)}</strong>${
      d.atThreshold
        ? `; at the threshold ${d.threshold!.toFixed(4)}: detection rate <strong data-metric="detection-rate">${
          percent(d.atThreshold.detectionRate.rate)
        }</strong>, false-positive rate <span data-metric="false-positive-rate">${
          percent(d.atThreshold.falsePositiveRate.rate)
        }</span>`
        : "; no threshold (calibrate the model to get detection rates)"
    }.</p>
<div class="charts">${figure(rocPlot(report), "ROC; the red dot is the calibrated threshold.")}</div></section>`);
  }

  const m = report.minimalEpsilon;
  if (m) {
    const q = (v: number | null) => (v === null ? `&gt; ${m.high}` : String(v));
    parts.push(`<section id="minimal-epsilon"><h2>Minimal ε</h2>
<p class="lead">Smallest L∞ ε found by bisection with PGD (an upper bound on each image's robust radius). ${m.alreadyWrong} already misclassified, ${
      m.broken - m.alreadyWrong
    } broken within ${m.high}, ${m.unbroken} not broken.</p>
<table><tr><th>p10</th><th>p25</th><th>median</th><th>p75</th><th>p90</th></tr><tr><td>${q(m.quantiles.p10)}</td><td>${
      q(m.quantiles.p25)
    }</td><td data-metric="minimal-epsilon-median">${q(m.quantiles.p50)}</td><td>${q(m.quantiles.p75)}</td><td>${
      q(m.quantiles.p90)
    }</td></tr></table>
<div class="charts">${
      figure(minimalEpsilonPlot(report), "Images by minimal ε (unbroken images not shown).")
    }</div></section>`);
  }

  parts.push(
    `<section id="per-class"><h2>Per class</h2><div class="charts">${
      figure(perClassPlot(report), "Clean and worst-case L∞ robust accuracy per class.")
    }</div>
<table><tr><th>class</th><th>images</th><th>clean</th>${
      report.worstCase.map((w) => `<th>worst ${w.norm === "linf" ? "L∞" : "L2"} ${w.eps}</th>`).join("")
    }</tr>
${
      report.perClass.map((c) =>
        `<tr><td>${escapeHtml(c.label)}</td><td>${c.clean.total}</td><td>${percent(c.clean.rate)}</td>${
          c.worstCase.map((w) => `<td>${percent(w.accuracy.rate)}</td>`).join("")
        }</tr>`
      ).join("\n")
    }
</table></section>`,
  );

  const r = report.randomization;
  if (r) {
    parts.push(`<section id="randomization"><h2>Randomized resizing</h2>
<p class="lead">${r.draws} random resize-and-pad draws per image (Xie et al. 2018): mean agreement with the clean prediction ${
      percent(r.agreement.mean)
    }.${
      r.eot
        ? ` EoT-PGD at ε=${r.eot.eps} fooled the randomization on <strong data-metric="eot-success">${
          percent(r.eot.success.rate)
        }</strong> of images.`
        : ""
    } Randomization is a signal, never a robustness guarantee.</p>
<div class="charts">${
      figure(agreementPlot(report), "Images by agreement under randomized resizing.")
    }</div></section>`);
  }

  if (report.spsa) {
    parts.push(`<section id="spsa"><h2>Gradient-masking check (SPSA)</h2>
<p class="lead">A black-box SPSA attack on ${report.spsa.images} sampled images; if it breaks images every gradient attack failed on, the gradients mislead.</p>
<table><tr><th>ε</th><th>SPSA success</th><th>gradient attacks' success (same images)</th><th>broken by SPSA only</th></tr>
${
      report.spsa.eps.map((e) =>
        `<tr><td>${e.eps}</td><td>${percent(e.success.rate)} (${e.success.count}/${e.success.total})</td><td>${
          e.gradientSuccess
            ? `${percent(e.gradientSuccess.rate)} (${e.gradientSuccess.count}/${e.gradientSuccess.total})`
            : "—"
        }</td><td data-metric="spsa-only:${e.eps}">${e.spsaOnly}</td></tr>`
      ).join("\n")
    }
</table></section>`);
  }

  if (report.examples.length > 0) {
    parts.push(
      `<section id="examples"><h2>Examples</h2><p class="lead">Clean image, adversarial image, perturbation amplified to full range (grey = unchanged).</p><div class="examples">
${
        report.examples.map((e) =>
          `<div class="example"><img alt="clean" src="data:image/png;base64,${e.clean}"><img alt="adversarial" src="data:image/png;base64,${e.adversarial}"><img alt="perturbation" src="data:image/png;base64,${e.perturbation}"><br>${
            escapeHtml(e.name)
          }: ${label(e.label)} → <strong>${label(e.prediction)}</strong><br>${escapeHtml(e.attack)} ε=${e.eps}, ‖δ‖∞=${
            e.linf.toFixed(4)
          }</div>`
        ).join("\n")
      }
</div></section>`,
    );
  }

  if (report.errors.length > 0) {
    parts.push(
      `<section id="errors"><h2>Images not evaluated</h2><table><tr><th>image</th><th>code</th><th>message</th></tr>
${
        report.errors.slice(0, 100).map((e) =>
          `<tr><td>${escapeHtml(e.name)}</td><td>${escapeHtml(e.code)}</td><td>${escapeHtml(e.message)}</td></tr>`
        ).join("\n")
      }
</table>${
        report.errors.length > 100 ? `<p>… and ${report.errors.length - 100} more (see the JSON report).</p>` : ""
      }</section>`,
    );
  }

  const kv = (k: string, v: string) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`;
  parts.push(`<section id="provenance"><h2>Provenance</h2><table>
${
    kv(
      "model",
      `${escapeHtml(p.model.id)} ${p.model.version ? escapeHtml(p.model.version) : ""} <code>${
        escapeHtml(p.model.sha256)
      }</code>`,
    )
  }
${
    kv(
      "dataset",
      `${escapeHtml(p.dataset.source ?? "—")} <code>${
        escapeHtml(p.dataset.sha256 ?? "—")
      }</code>, ${p.dataset.images} images audited${
        p.dataset.datasetImages === null ? "" : ` of ${p.dataset.datasetImages}`
      }: ${p.dataset.counts.map((c) => `${escapeHtml(c.label)} ${c.count}`).join(", ")}`,
    )
  }
${kv("seed", String(p.seed))}
${kv("backend", `${escapeHtml(p.model.backend)}, ${escapeHtml(p.model.gradientMode)} gradients`)}
${kv("software", Object.entries(p.software).map(([k, v]) => `${escapeHtml(k)} ${escapeHtml(v)}`).join(", ") || "—")}
${
    kv(
      "time",
      `${escapeHtml(p.started ?? "—")} → ${escapeHtml(p.finished ?? "—")}${
        p.wallMs === null ? "" : `, ${(p.wallMs / 1000).toFixed(1)} s wall`
      }; ${p.shards} shards`,
    )
  }
${kv("compute", Object.entries(p.compute).map(([k, v]) => `${escapeHtml(k)} ${Math.round(v)}`).join(", "))}
${
    kv(
      "time per stage (ms, summed over shards)",
      Object.entries(p.timingsMs).map(([k, v]) => `${escapeHtml(k)} ${Math.round(v)}`).join(", "),
    )
  }
</table><details><summary>Effective plan</summary><pre>${escapeHtml(JSON.stringify(p.plan, null, 2))}</pre></details>
<p class="ci">Report schema ${escapeHtml(report.schema)} v${report.version}.</p></section>`);

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Robustness audit: ${escapeHtml(p.model.id)}</title><style>${STYLE}</style></head>
<body>
${parts.join("\n")}
</body></html>
`;
}
