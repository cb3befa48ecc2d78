import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/main.ts", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cli inspect --json on a real model: ops, no unsupported ops, exact gradient verified", async () => {
  const r = await cli("inspect", "tests/fixtures/autodiff/mobilenet_v2_w035.onnx", "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.opset, 13);
  assert.ok(report.ops.Conv >= 30, `Conv count ${report.ops.Conv}`);
  assert.ok(report.ops.Clip >= 10);
  assert.deepEqual(report.unsupported, []);
  assert.equal(report.gradient.mode, "exact");
  assert.equal(report.gradient.ok, true);
  assert.ok(report.gradient.maxRelError < 5e-2);
  assert.ok(report.gradient.logitsMaxAbsDiff < 1e-4);
  assert.equal(report.spec.input.layout, "NCHW");
});

Deno.test("cli inspect reports ops without a rule and falls back to spsa", async () => {
  const r = await cli("inspect", "tests/fixtures/autodiff/cumsum_unsupported.onnx", "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.unsupported, ["CumSum"]);
  assert.equal(report.gradient.mode, "spsa");
  assert.equal(report.gradient.ok, false);
  const text = await cli("inspect", "tests/fixtures/autodiff/cumsum_unsupported.onnx");
  assert.match(text.stdout, /unsupported: CumSum/);
});

Deno.test("cli inspect with a manifest (byte scale, NHWC) prints a verdict", async () => {
  const manifest = await Deno.makeTempFile({ suffix: ".json" });
  try {
    const meta = JSON.parse(Deno.readTextFileSync(new URL("tests/fixtures/autodiff/tf_like_nhwc.json", ROOT)));
    Deno.writeTextFileSync(
      manifest,
      JSON.stringify({ id: "tf-like", labels: ["a", "b", "c", "d", "e"], ...meta.spec }),
    );
    const r = await cli("inspect", "tests/fixtures/autodiff/tf_like_nhwc.onnx", "--manifest", manifest);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /spec {6}NHWC 3×8×8, scale byte/);
    assert.match(r.stdout, /→ OK/);
  } finally {
    await Deno.remove(manifest);
  }
});

Deno.test("cli without a command prints usage and exits 2", async () => {
  const r = await cli();
  assert.equal(r.code, 2);
  assert.match(r.stderr, /usage: deno task cli inspect/);
});

Deno.test("inspect reports how well the SPSA fallback would track the exact gradient", async () => {
  const r = await cli(
    "inspect",
    "models/fashion-cnn/model.onnx",
    "--json",
    "--manifest",
    "models/fashion-cnn/manifest.json",
  );
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.gradient.mode, "exact");
  assert.ok(report.gradient.spsaCosine > 0.5, `SPSA cosine ${report.gradient.spsaCosine}`);
});
