/**
 * Gradient coverage over the zoo written by tools/gradient_zoo.py (tests/.cache/zoo/): derives
 * each case's gradient model (cross-entropy and margin losses), runs it on onnxruntime-web (WASM)
 * and compares with torch autograd (float64). Prints one markdown row per case: gradient mode,
 * 1 − cosine and relative errors of ∂loss/∂pixels (worst of the two losses), logits error,
 * 1 − cosine with torch's float32 cross-entropy gradient, derivation time, and for SPSA cases the
 * op types without a rule.
 *
 *   deno run -A tools/gradient_zoo.ts [dir]
 */
import { cosineSimilarity } from "../kernels/norms.ts";
import { deriveGradientModel, NotDifferentiableError } from "../src/autodiff/mod.ts";
import { loadFixture, relMaxError, runGradientModel } from "../src/autodiff/testing.ts";

const dir = new URL(
  Deno.args[0] ? `file://${Deno.realPathSync(Deno.args[0])}/` : "../tests/.cache/zoo/",
  import.meta.url,
);
const names = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".json")).map((e) => e.name.slice(0, -5)).sort();

function relNorm(a: Float32Array, b: Float32Array): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

console.log(
  "| case | opset | gradient | 1 − cosine | rel. L2 error | rel. max error | logits rel. error | 1 − cosine vs torch f32 | build ms |",
);
console.log("|---|---|---|---|---|---|---|---|---|");

/** Cosine with torch's float32 cross-entropy gradient, when tools/gradient_zoo.py wrote one. */
function cosineF32(name: string, grad: Float32Array): string {
  try {
    const b = Deno.readFileSync(new URL(`${name}.ce.grad_f32.bin`, dir));
    return (1 - cosineSimilarity(grad, new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4))).toExponential(1);
  } catch {
    return "–";
  }
}
for (const name of names) {
  const f = loadFixture(name, dir);
  const { channels: c, height: h, width: w } = f.spec.input;
  let cosine = 1, l2 = 0, max = 0, logits = 0, build = 0, f32 = "–";
  try {
    for (const loss of ["ce", "margin"] as const) {
      const derived = deriveGradientModel(f.bytes, f.spec, { loss });
      build = Math.max(build, derived.buildMs);
      const got = await runGradientModel(derived.bytes, f.pixels, [f.batch, c, h, w], f.labels);
      const exp = f.expected[loss];
      cosine = Math.min(cosine, cosineSimilarity(got.grad, exp.grad));
      l2 = Math.max(l2, relNorm(got.grad, exp.grad));
      max = Math.max(max, relMaxError(got.grad, exp.grad));
      logits = Math.max(logits, relMaxError(got.logits, exp.logits));
      if (loss === "ce") f32 = cosineF32(name, got.grad);
    }
    const e = (v: number) => v.toExponential(1);
    console.log(
      `| ${name} | ${f.opset} | exact | ${e(1 - cosine)} | ${e(l2)} | ${e(max)} | ${e(logits)} | ${f32} | ${
        build.toFixed(0)
      } |`,
    );
  } catch (e) {
    if (!(e instanceof NotDifferentiableError)) {
      console.log(`| ${name} | ${f.opset} | error: ${String(e).slice(0, 120)} | | | | | | |`);
      continue;
    }
    console.log(`| ${name} | ${f.opset} | SPSA (no rule: ${e.opTypes.join(", ")}) | | | | | | |`);
  }
}
