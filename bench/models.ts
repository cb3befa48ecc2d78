/** Which models the benchmark runs, and the on-demand export of the ImageNet-sized ones. */
import { SYSTEM_PYTHON } from "./torch_client.ts";

const ROOT = new URL("../", import.meta.url).pathname;
export const MODELS_DIR = `${ROOT}models`;
export const CACHE_DIR = new URL("./.cache/models", import.meta.url).pathname;

export interface BenchModel {
  /** Row name in the tables. */
  name: string;
  /** Folder holding model.onnx + manifest.json. */
  dir: string;
  /** Architecture name understood by tools/bench_torch.py. */
  arch: "fashion-cnn" | "fashion-rgb" | "resnet18" | "mobilenet_v2";
}

/** The shipped models and the fixture images each is checked on. */
export const SHIPPED: (BenchModel & { id: string; fixtures: "fashion" | "fashion-rgb" })[] = [
  {
    name: "fashion-cnn",
    id: "fashion-cnn",
    dir: `${MODELS_DIR}/fashion-cnn`,
    arch: "fashion-cnn",
    fixtures: "fashion",
  },
  {
    name: "fashion-cnn-robust",
    id: "fashion-cnn-robust",
    dir: `${MODELS_DIR}/fashion-cnn-robust`,
    arch: "fashion-cnn",
    fixtures: "fashion",
  },
  {
    name: "fashion-rgb",
    id: "fashion-rgb",
    dir: `${MODELS_DIR}/fashion-rgb`,
    arch: "fashion-rgb",
    fixtures: "fashion-rgb",
  },
];

export const IMAGENET: BenchModel[] = [
  { name: "resnet18 (224²)", dir: `${CACHE_DIR}/resnet18`, arch: "resnet18" },
  { name: "mobilenet_v2 (224²)", dir: `${CACHE_DIR}/mobilenet_v2`, arch: "mobilenet_v2" },
];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Exports ResNet-18 / MobileNetV2 into bench/.cache when absent (tools/export_bench_models.py,
 * Debian's torch). Returns the usable models, or the reason there are none.
 */
export async function ensureImagenetModels(log: (line: string) => void): Promise<BenchModel[] | string> {
  const present = async () =>
    (await Promise.all(IMAGENET.map((m) => exists(`${m.dir}/model.onnx`)))).every(Boolean) &&
    (await Promise.all(IMAGENET.map((m) => exists(`${m.dir}/manifest.json`)))).every(Boolean);
  if (await present()) return IMAGENET;
  log(`exporting ResNet-18 and MobileNetV2 into ${CACHE_DIR} (tools/export_bench_models.py)…`);
  try {
    const out = await new Deno.Command(SYSTEM_PYTHON, {
      args: [`${ROOT}tools/export_bench_models.py`, CACHE_DIR],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      return `export failed: ${err}`;
    }
  } catch (error) {
    return `${SYSTEM_PYTHON} is not runnable (${(error as Error).message})`;
  }
  return (await present()) ? IMAGENET : "export ran but wrote no models";
}
