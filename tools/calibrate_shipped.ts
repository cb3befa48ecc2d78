/**
 * Re-derives each shipped model's default squeezers and `defaults.squeezeThreshold` the way a user
 * would: starts the service on models/, POSTs clean labelled training images (tools/calibration_images.py,
 * the last 1000 of Fashion-MNIST's training split, never the test fixtures) to
 * /v1/models/{id}/calibrate with `select: true` at a 5% false-positive rate (Xu et al.'s setting),
 * and writes the chosen set (`defaults.check.squeeze.squeezers`), its threshold and the selection's
 * held-out figures into the manifest. It prints one models/README.md table row per model and attack:
 * `baseline` is the set the manifest had when this ran (the "before"), so run it once, from the
 * pre-selection manifests.
 *
 *   /usr/bin/python3 tools/calibration_images.py /tmp/calib
 *   deno run -A tools/calibrate_shipped.ts /tmp/calib [IMAGES_PER_MODEL] [MODEL_ID...]
 */
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";

const FPR = 0.05;
const SEED = 0;
const sets: Record<string, string> = { "fashion-cnn": "grey", "fashion-cnn-robust": "grey", "fashion-rgb": "rgb" };

const [imagesDir, countArg, ...only] = Deno.args;
if (!imagesDir) throw new Error("usage: calibrate_shipped.ts IMAGES_DIR [IMAGES_PER_MODEL] [MODEL_ID...]");
const count = Number(countArg ?? 1000);
const modelsDir = new URL("../models/", import.meta.url).pathname;
const dataDir = await Deno.makeTempDir();
const server = await startServer(
  loadConfig({
    PORT: "0",
    HOSTNAME: "127.0.0.1",
    ROBUSTCHECK_BACKEND: "wasm",
    ROBUSTCHECK_MODELS_DIR: modelsDir,
    ROBUSTCHECK_DATA_DIR: dataDir,
  }),
);

interface Figures {
  squeezers: string[];
  threshold: number;
  fpr: number;
  attacks: Record<string, { auc: number | null; detectionRate: number | null; examples: number }>;
}

const pct = (v: number | null) => v === null ? "–" : `${(100 * v).toFixed(1)}%`;
const auc = (v: number | null) => v === null ? "–" : v.toFixed(3);

try {
  const rows: string[] = [];
  for (const [id, set] of Object.entries(sets)) {
    if (only.length && !only.includes(id)) continue;
    const form = new FormData();
    const files = [...Deno.readDirSync(join(imagesDir, set))].map((e) => e.name).filter((n) => n.endsWith(".png"))
      .sort().slice(0, count);
    const labels: number[] = JSON.parse(await Deno.readTextFile(join(imagesDir, set, "labels.json"))).slice(0, count);
    for (const file of files) {
      form.append("image", new Blob([await Deno.readFile(join(imagesDir, set, file))], { type: "image/png" }));
    }
    form.append("labels", JSON.stringify(labels));
    form.append("options", JSON.stringify({ fpr: FPR, select: true, seed: SEED }));
    const started = Date.now();
    const response = await fetch(`http://127.0.0.1:${server.port}/v1/models/${id}/calibrate`, {
      method: "POST",
      body: form,
    });
    const result = await response.json();
    if (!response.ok) throw new Error(`${id}: ${JSON.stringify(result)}`);
    const selection = result.selection;
    const info = await (await fetch(`http://127.0.0.1:${server.port}/v1/models/${id}`)).json();
    const manifestPath = join(modelsDir, id, "manifest.json");
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    const chosen = info.squeeze.calibration.selection.chosen as string[];
    manifest.defaults = {
      ...manifest.defaults,
      squeezeThreshold: result.threshold,
      check: { ...manifest.defaults?.check, squeeze: { squeezers: chosenSqueezers(chosen) } },
    };
    const summary = (f: Figures) => ({
      squeezers: f.squeezers,
      threshold: f.threshold,
      fpr: f.fpr,
      attacks: f.attacks,
    });
    manifest.provenance = {
      ...manifest.provenance,
      squeezeCalibration: {
        images: `last ${files.length} Fashion-MNIST training images${set === "rgb" ? " (colourised, seed 1)" : ""}`,
        dataSha256: selection.dataSha256,
        seed: SEED,
        targetFpr: FPR,
        attacks: selection.attacks,
        counts: selection.counts,
        search: selection.search,
        squeezers: result.squeezers,
        threshold: result.threshold,
        heldOut: summary(selection.heldOut),
        before: summary(selection.baseline),
        tool: "tools/calibrate_shipped.ts (POST /v1/models/{id}/calibrate, select: true)",
      },
    };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    console.log(`${id}: chose ${chosen.join(" + ")} threshold ${result.threshold} in ${Date.now() - started} ms`);
    for (const attack of ["fgsm", "pgd"]) {
      const b = selection.baseline as Figures;
      const a = selection.heldOut as Figures;
      rows.push(
        `| \`${id}\` | ${attack.toUpperCase()} (${a.attacks[attack].examples} held-out examples) | ` +
          `${b.squeezers.join(" + ")} | ${pct(b.fpr)} | ${pct(b.attacks[attack].detectionRate)} | ` +
          `${auc(b.attacks[attack].auc)} | ${a.squeezers.join(" + ")} | ${pct(a.fpr)} | ` +
          `${pct(a.attacks[attack].detectionRate)} | ${auc(a.attacks[attack].auc)} |`,
      );
    }
  }
  console.log(rows.join("\n"));
} finally {
  await server.shutdown();
  await Deno.remove(dataDir, { recursive: true });
}

/** `bitDepth:5` / `median:2` / `nonLocalMeans:13-3-2` back to squeezer objects for the manifest. */
function chosenSqueezers(names: string[]): Record<string, unknown>[] {
  return names.map((name) => {
    const [kind, value] = name.split(":");
    if (kind === "bitDepth") return { kind, bits: Number(value) };
    if (kind === "median") return { kind, size: Number(value) };
    const [search, patch, h] = value.split("-").map(Number);
    return { kind, search, patch, h };
  });
}
