/**
 * Test support for src/autodiff: loads fixtures written by tools/autodiff_fixtures.py, derives
 * the gradient model, runs it on onnxruntime-web (WASM, one thread) and compares with the torch
 * autograd reference (max abs error ≤ 1e-4 · max|expected| per output).
 */
import * as ort from "onnxruntime-web";
import assert from "node:assert/strict";
import { deriveGradientModel, type GradientSpec } from "./derive.ts";
import type { MaxPoolMode } from "./rules/types.ts";
import type { Formulations } from "./rules/formulations.ts";
import type { LossKind } from "../model/classifier.ts";

ort.env.wasm.numThreads = 1;

export const FIXTURES: URL = new URL("../../tests/fixtures/autodiff/", import.meta.url);

export interface Fixture {
  name: string;
  bytes: Uint8Array;
  spec: GradientSpec;
  batch: number;
  opset: number;
  pixels: Float32Array;
  labels: number[];
  /** The rule fixtures carry ce and margin; the DLR fixtures (loss_test.ts) have their own reader. */
  expected: Record<Exclude<LossKind, "dlr">, { logits: Float32Array; loss: Float32Array; grad: Float32Array }>;
}

function bin(dir: URL, name: string): Float32Array {
  const b = Deno.readFileSync(new URL(`${name}.bin`, dir));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** Load `<name>.onnx` + `<name>.json` (+ `.bin` arrays for whole networks) from `dir`. */
export function loadFixture(name: string, dir: URL = FIXTURES): Fixture {
  const meta = JSON.parse(Deno.readTextFileSync(new URL(`${name}.json`, dir)));
  const bytes = Deno.readFileSync(new URL(`${name}.onnx`, dir));
  const arr = (kind: string, key: string): Float32Array =>
    meta.arrays ? bin(dir, `${name}.${kind}.${key}`) : Float32Array.from(meta.expected[kind][key]);
  return {
    name,
    bytes,
    spec: meta.spec,
    batch: meta.batch,
    opset: meta.opset,
    labels: meta.labels,
    pixels: meta.arrays ? bin(dir, `${name}.pixels`) : Float32Array.from(meta.pixels),
    expected: {
      ce: { logits: arr("ce", "logits"), loss: arr("ce", "loss"), grad: arr("ce", "grad") },
      margin: { logits: arr("margin", "logits"), loss: arr("margin", "loss"), grad: arr("margin", "grad") },
    },
  };
}

export interface GradientOutputs {
  logits: Float32Array;
  loss: Float32Array;
  grad: Float32Array;
  labelsUsed: number[];
}

/** Run a derived gradient model once; `lossKind` feeds the input of a graph derived for several losses. */
export async function runGradientModel(
  bytes: Uint8Array,
  pixels: Float32Array,
  dims: readonly number[],
  labels: readonly number[],
  lossKind?: number,
): Promise<GradientOutputs> {
  // Severity 3 (errors only): onnxruntime's warnings about unused initializers of derived graphs are noise.
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const out = await session.run({
      pixels: new ort.Tensor("float32", pixels, dims),
      labels: new ort.Tensor("int64", BigInt64Array.from(labels.map(BigInt)), [labels.length]),
      ...(lossKind === undefined ? {} : { loss_kind: new ort.Tensor("int64", BigInt64Array.of(BigInt(lossKind)), []) }),
    });
    return {
      logits: out.logits.data as Float32Array,
      loss: out.loss.data as Float32Array,
      grad: out.grad.data as Float32Array,
      labelsUsed: Array.from(out.labels_used.data as BigInt64Array, Number),
    };
  } finally {
    await session.release();
  }
}

/** max |a − b| / max|b| (b the reference); 0 when both vanish. */
export function relMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, "length mismatch");
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? err : err / scale;
}

/** Derive with both losses (and the given MaxPool mode / formulations) and check against the fixture. */
export async function checkFixture(
  name: string,
  maxPool: MaxPoolMode = "indices",
  tol = 1e-4,
  formulations?: Partial<Formulations>,
): Promise<void> {
  const f = loadFixture(name);
  const { channels: c, height: h, width: w } = f.spec.input;
  for (const loss of ["ce", "margin"] as const) {
    const derived = deriveGradientModel(f.bytes, f.spec, { loss, maxPool, formulations });
    const got = await runGradientModel(derived.bytes, f.pixels, [f.batch, c, h, w], f.labels);
    const exp = f.expected[loss];
    for (const key of ["logits", "loss", "grad"] as const) {
      const e = relMaxError(got[key], exp[key]);
      assert.ok(e <= tol, `${name} ${loss} ${maxPool} ${key}: relative max error ${e.toExponential(2)} > ${tol}`);
    }
    const gradScale = exp.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.ok(gradScale > 0, `${name}: reference gradient is identically zero`);
  }
}
