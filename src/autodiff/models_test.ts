import assert from "node:assert/strict";
import { deriveGradientModel } from "./derive.ts";
import { checkGradient } from "../runtime/gradcheck.ts";
import { loadFixture, relMaxError, runGradientModel } from "./testing.ts";

/** cosine similarity and ‖a − b‖/‖b‖. */
function compare(a: Float32Array, b: Float32Array): { cosine: number; relNorm: number } {
  let dot = 0, na = 0, nb = 0, nd = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    nd += (a[i] - b[i]) ** 2;
  }
  return { cosine: dot / Math.sqrt(na * nb), relNorm: Math.sqrt(nd / nb) };
}

async function deepCheck(name: string): Promise<void> {
  const f = loadFixture(name);
  const { channels: c, height: h, width: w } = f.spec.input;
  for (const loss of ["ce", "margin"] as const) {
    for (const maxPool of ["indices", "mask"] as const) {
      const derived = deriveGradientModel(f.bytes, f.spec, { loss, maxPool });
      const got = await runGradientModel(derived.bytes, f.pixels, [f.batch, c, h, w], f.labels);
      const exp = f.expected[loss];
      const { cosine, relNorm } = compare(got.grad, exp.grad);
      assert.ok(cosine >= 0.9999, `${name} ${loss} ${maxPool}: cosine ${cosine}`);
      assert.ok(relNorm <= 1e-2, `${name} ${loss} ${maxPool}: relative norm error ${relNorm}`);
      assert.ok(relMaxError(got.logits, exp.logits) <= 1e-4, `${name}: logits differ`);
      assert.ok(relMaxError(got.loss, exp.loss) <= 1e-4, `${name}: loss differs`);
    }
  }
}

Deno.test("MobileNetV2 (width 0.35, random weights): gradient matches torch autograd", () =>
  deepCheck("mobilenet_v2_w035"));

Deno.test("ResNet-18 (random weights, 224²): gradient matches torch autograd", () => deepCheck("resnet18"));

// Shipped models (models/<id>/model.onnx + manifest.json), once they exist.
const MODELS = new URL("../../models/", import.meta.url);
const shipped = [...Deno.readDirSync(MODELS)].filter((e) => {
  try {
    return e.isDirectory && Deno.statSync(new URL(`${e.name}/model.onnx`, MODELS)).isFile;
  } catch {
    return false;
  }
});
for (const entry of shipped) {
  Deno.test(`shipped model ${entry.name}: derived logits equal the model's, gradient passes finite differences`, async () => {
    const bytes = Deno.readFileSync(new URL(`${entry.name}/model.onnx`, MODELS));
    const manifest = JSON.parse(Deno.readTextFileSync(new URL(`${entry.name}/manifest.json`, MODELS)));
    const check = await checkGradient(bytes, { input: manifest.input, output: manifest.output });
    assert.ok(check.logitsMaxAbsDiff <= 1e-4, `logits differ by ${check.logitsMaxAbsDiff}`);
    assert.ok(check.ok, `finite-difference relative error ${check.maxRelError}`);
  });
}

Deno.test("finite-difference check agrees with the derived gradient (MobileNetV2)", async () => {
  const f = loadFixture("mobilenet_v2_w035");
  const check = await checkGradient(f.bytes, f.spec, { inputs: 1, directions: 2 });
  assert.ok(check.logitsMaxAbsDiff <= 1e-4, `logits differ by ${check.logitsMaxAbsDiff}`);
  assert.ok(check.ok, `max relative error ${check.maxRelError}`);
});

Deno.test("finite-difference check rejects a wrong gradient model", async () => {
  const f = loadFixture("conv_basic");
  const other = loadFixture("conv_depthwise");
  const wrong = deriveGradientModel(other.bytes, other.spec, { loss: "margin" });
  const check = await checkGradient(f.bytes, f.spec, { gradientModel: wrong.bytes });
  assert.ok(!check.ok, `wrong model passed with error ${check.maxRelError}`);
  assert.ok(check.logitsMaxAbsDiff > 1e-3);
});
