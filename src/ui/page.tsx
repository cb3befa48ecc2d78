/** The page at `/`: server-rendered markup; ./client/ fills it from the public API. */
import type { FC } from "hono/jsx";
import { SAMPLES } from "./samples.ts";

const PROBE_TOGGLES = [
  { key: "squeeze", title: "Feature squeezing", note: "scores of squeezed versions" },
  { key: "randomization", title: "Randomized resizing", note: "votes of resized draws, EoT-PGD" },
  { key: "fgsm", title: "FGSM", note: "one gradient step per ε" },
  { key: "pgd", title: "PGD", note: "L∞ and L2 attacks" },
  { key: "minimalEpsilon", title: "Minimal ε", note: "bisection over PGD L∞" },
  { key: "sweep", title: "ε-curve", note: "PGD L∞ at each ε of a sweep" },
] as const;

const NumberField: FC<{ id: string; label: string; step?: string; min?: string; max?: string; hint?: string }> = (
  p,
) => (
  <div class="field">
    <label for={p.id}>{p.label}</label>
    <input
      id={p.id}
      type="number"
      inputmode="decimal"
      step={p.step ?? "any"}
      min={p.min}
      max={p.max}
      placeholder="default"
      aria-describedby={p.hint ? `${p.id}-hint` : undefined}
    />
    {p.hint && <small id={`${p.id}-hint`}>{p.hint}</small>}
  </div>
);

const Figure: FC<{ id: string; title: string }> = ({ id, title }) => (
  <figure class="shot">
    <div class="frame" id={`${id}-frame`}>
      <span class="placeholder">—</span>
    </div>
    <figcaption>
      <strong>{title}</strong>
      <span id={`${id}-caption`}>&nbsp;</span>
    </figcaption>
  </figure>
);

export const Page: FC = () => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>robustcheck — how easily can this classifier be fooled?</title>
      <link rel="stylesheet" href="/ui/style.css" />
      <link rel="icon" href="data:," />
      <script type="module" src="/ui/app.js"></script>
    </head>
    <body>
      <a class="skip" href="#check-form">Skip to the check</a>
      <header class="top">
        <div>
          <h1>robustcheck</h1>
          <p class="tagline">How easily can this image classifier be fooled on this image?</p>
        </div>
        <div class="top-links">
          <a href="/docs">API reference</a>
          <details class="key" id="key-box">
            <summary>
              API key <span id="key-state" class="muted">none</span>
            </summary>
            <form class="key-form" id="key-form">
              <label for="api-key">API key (kept in this browser tab only, sent as a Bearer token)</label>
              <input id="api-key" type="password" autocomplete="off" spellcheck={false} />
              <div class="row">
                <button type="submit" id="key-save">Use this key</button>
                <button type="button" id="key-clear" class="secondary">Forget it</button>
              </div>
            </form>
          </details>
        </div>
      </header>
      <main>
        <form id="check-form" class="panel" aria-labelledby="form-title" novalidate>
          <h2 id="form-title">Check an image</h2>
          <div class="field">
            <label for="model">Model</label>
            <select id="model" disabled>
              <option value="">Loading models…</option>
            </select>
          </div>
          <dl id="model-facts" class="facts" aria-live="polite"></dl>

          <fieldset>
            <legend>Image</legend>
            <div id="drop" class="drop">
              <label for="file">Drop an image here, or choose a file (PNG, JPEG or WebP)</label>
              <input id="file" type="file" accept="image/png,image/jpeg,image/webp" />
            </div>
            <p class="muted" id="samples-title">Or pick a sample (Fashion-MNIST test images):</p>
            <div class="samples" role="group" aria-labelledby="samples-title">
              {SAMPLES.map((s) => (
                <button
                  type="button"
                  class="sample"
                  data-file={s.file}
                  data-class-index={String(s.classIndex)}
                  data-class-name={s.className}
                  aria-pressed="false"
                >
                  <img src={`/ui/samples/${s.file}`} alt="" width="56" height="56" />
                  <span>{s.className}</span>
                </button>
              ))}
            </div>
            <p id="image-state" class="muted" aria-live="polite">No image chosen yet.</p>
          </fieldset>

          <fieldset>
            <legend>Label and target</legend>
            <div class="pair">
              <div class="field">
                <label for="label">True label</label>
                <select id="label">
                  <option value="">the prediction</option>
                </select>
              </div>
              <div class="field">
                <label for="target">Target</label>
                <select id="target">
                  <option value="">none: untargeted</option>
                </select>
              </div>
            </div>
          </fieldset>

          <fieldset>
            <legend>Probes</legend>
            <div class="toggles">
              {PROBE_TOGGLES.map((p) => (
                <label class="toggle">
                  <input type="checkbox" id={`probe-${p.key}`} checked />
                  <span>
                    {p.title} <small>{p.note}</small>
                  </span>
                </label>
              ))}
            </div>
            <div class="pair">
              <NumberField id="seed" label="Seed" step="1" min="0" />
              <NumberField id="pgd-eps" label="PGD L∞ ε" min="0" max="1" hint="in [0,1]; 8/255 ≈ 0.0314" />
              <NumberField
                id="pgd-steps"
                label="PGD steps"
                step="1"
                min="1"
                hint="with an ε: one L∞ probe replaces the defaults"
              />
              <NumberField id="minimal-high" label="Minimal-ε search up to" min="0" max="1" />
              <NumberField id="sweep-max" label="ε-curve up to" min="0" max="1" />
              <NumberField
                id="sweep-points"
                label="ε-curve points"
                step="1"
                min="1"
                max="16"
                hint="evenly spaced up to “up to” (default 8)"
              />
            </div>
            <details>
              <summary>Options sent to the API (JSON)</summary>
              <pre id="options-json" class="json"></pre>
            </details>
          </fieldset>

          <div class="run-row">
            <button type="submit" id="run" disabled>Run check</button>
            <p id="status" role="status" class="muted">Loading models…</p>
          </div>
        </form>

        <section id="result" class="panel" aria-labelledby="result-title" aria-busy="false">
          <h2 id="result-title">Result</h2>
          <div id="error" class="error" role="alert" hidden></div>
          <div id="verdict" class="verdict idle">
            <p class="verdict-line">Pick an image and run a check: the verdict appears here.</p>
          </div>
          <div class="shots">
            <Figure id="original" title="Input at model size" />
            <Figure id="adversarial" title="Adversarial (smallest ε)" />
            <Figure id="perturbation" title="Perturbation, amplified" />
          </div>
          <h3>ε-curve: the label's confidence under attack</h3>
          <div id="curve" class="chart curve"></div>
          <h3>Top-k: clean vs adversarial</h3>
          <div id="topk" class="chart topk"></div>
          <h3>Attacks</h3>
          <div class="table-wrap">
            <table id="attacks">
              <thead>
                <tr>
                  <th scope="col">attack</th>
                  <th scope="col">ε</th>
                  <th scope="col">fooled?</th>
                  <th scope="col">prediction after</th>
                  <th scope="col">‖δ‖∞</th>
                </tr>
              </thead>
              <tbody></tbody>
            </table>
          </div>
          <h3>Feature squeezing</h3>
          <p id="squeeze-summary" class="muted">&nbsp;</p>
          <div id="squeezed" class="strip"></div>
          <h3>Randomized resizing</h3>
          <p id="randomized-summary" class="muted">&nbsp;</p>
          <div id="randomized" class="strip"></div>
          <details>
            <summary>Full report (JSON)</summary>
            <pre id="report-json" class="json"></pre>
          </details>
        </section>

        <section id="audits-panel" class="panel" aria-labelledby="audits-title">
          <h2 id="audits-title">Audits</h2>
          <p class="muted">
            An audit runs a plan of attacks over a labelled image set in the background and writes a report.
          </p>
          <div class="run-row">
            <button type="button" id="audit-sample" class="secondary" aria-describedby="audit-sample-hint">
              Audit the sample set
            </button>
            <p id="audit-status" role="status" class="muted"></p>
          </div>
          <small id="audit-sample-hint">
            24 images of the builtin Fashion-MNIST sample with the selected model: FGSM and 5-step PGD.
          </small>
          <div class="table-wrap">
            <table id="audits" aria-live="polite">
              <thead>
                <tr>
                  <th scope="col">audit</th>
                  <th scope="col">model</th>
                  <th scope="col">status</th>
                  <th scope="col">progress</th>
                  <th scope="col">report</th>
                </tr>
              </thead>
              <tbody></tbody>
            </table>
          </div>
          <p id="audits-empty" class="muted">No audits yet.</p>
        </section>
      </main>
    </body>
  </html>
);
