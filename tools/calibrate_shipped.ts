/**
 * Sets each shipped model's `defaults.squeezeThreshold` the way a user would calibrate it: starts
 * the service on models/, POSTs 1000 clean training images (tools/calibration_images.py) to
 * /v1/models/{id}/calibrate at a 5% false-positive rate (Xu et al.'s setting) with the model's
 * default squeezers, and writes the threshold and its provenance into the manifest.
 *
 *   /usr/bin/python3 tools/calibration_images.py /tmp/calib
 *   deno run -A tools/calibrate_shipped.ts /tmp/calib
 */
import { join } from "node:path";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";

const FPR = 0.05;
const sets: Record<string, string> = { "fashion-cnn": "grey", "fashion-cnn-robust": "grey", "fashion-rgb": "rgb" };

const imagesDir = Deno.args[0];
if (!imagesDir) throw new Error("usage: calibrate_shipped.ts IMAGES_DIR (from tools/calibration_images.py)");
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
try {
  for (const [id, set] of Object.entries(sets)) {
    const form = new FormData();
    const files = [...Deno.readDirSync(join(imagesDir, set))].map((e) => e.name).sort();
    for (const file of files) {
      form.append("image", new Blob([await Deno.readFile(join(imagesDir, set, file))], { type: "image/png" }));
    }
    form.append("options", JSON.stringify({ fpr: FPR }));
    const response = await fetch(`http://127.0.0.1:${server.port}/v1/models/${id}/calibrate`, {
      method: "POST",
      body: form,
    });
    const result = await response.json();
    if (!response.ok) throw new Error(`${id}: ${JSON.stringify(result)}`);
    const manifestPath = join(modelsDir, id, "manifest.json");
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    manifest.defaults = { ...manifest.defaults, squeezeThreshold: result.threshold };
    manifest.provenance = {
      ...manifest.provenance,
      squeezeCalibration: {
        images: `last ${files.length} Fashion-MNIST training images${set === "rgb" ? " (colourised, seed 1)" : ""}`,
        squeezers: result.squeezers,
        targetFpr: FPR,
        fpr: result.fpr,
        threshold: result.threshold,
        tool: "tools/calibrate_shipped.ts",
      },
    };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    console.log(`${id}: threshold ${result.threshold} (FPR ${result.fpr} on ${result.count} images)`);
  }
} finally {
  await server.shutdown();
  await Deno.remove(dataDir, { recursive: true });
}
