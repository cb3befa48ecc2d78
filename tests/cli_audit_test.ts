/** `deno task cli audit` exit codes: 0 gates pass, 1 a gate fails, 2 bad usage/input (README, Audits). */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const PLAN = {
  subsample: { size: 8 },
  shardSize: 8,
  attacks: [{ kind: "pgd", norm: "linf", eps: [0.1], steps: 3 }],
  minimalEpsilon: false,
  randomization: false,
  spsa: false,
  squeeze: false,
  examples: 1,
};

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/main.ts", "audit", ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("cli audit: writes the report files; exit 0 when gates pass, 1 when one fails, 2 on bad input", async () => {
  const dir = await Deno.makeTempDir({ prefix: "robustcheck-cli-audit-" });
  try {
    const plan = `${dir}/plan.json`;
    await Deno.writeTextFile(plan, JSON.stringify(PLAN));
    const common = ["--model", "models/fashion-cnn", "--dataset", "builtin:fashion-mnist-sample", "--plan", plan];
    const passed = await cli(...common, "--backend", "wasm", "--out", `${dir}/a`, "--fail-under", "pgd-linf@0.1=0");
    assert.equal(passed.code, 0, passed.stderr);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/a/report.json`));
    assert.equal(report.images.total, 8);
    assert.ok((await Deno.readTextFile(`${dir}/a/report.html`)).includes("<svg"));
    assert.ok((await Deno.readTextFile(`${dir}/a/rows.csv`)).startsWith("index,name,label"));

    const failed = await cli(...common, "--backend", "wasm", "--out", `${dir}/b`, "--fail-under", "pgd-linf@0.1=1.01");
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /gate failed: pgd-linf@0\.1=1\.01/);
    // Without a TTY the bar still reports (one line per interval).
    assert.match(failed.stderr, /audit \[.*\] 8\/8 images/);

    assert.equal((await cli(...common, "--fail-under", "pgd-linf=0.5")).code, 2);
    assert.equal((await cli("--model", "models/fashion-cnn", "--dataset", `${dir}/nope`)).code, 2);
    assert.equal((await cli("--dataset", "builtin:fashion-mnist-sample")).code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
