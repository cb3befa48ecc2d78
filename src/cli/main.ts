/**
 * robustcheck CLI.
 *
 *   deno task cli inspect <model.onnx> [--json] [--manifest manifest.json]
 *   deno task cli audit … (src/cli/audit.ts: an audit from the terminal, with CI gates)
 *
 * Prints the op histogram, opset, input/output specs, the ops on the pixel path that lack a
 * gradient rule, and a numerical gradient check (src/gradcheck/gradcheck.ts: derived gradient vs
 * central finite differences of the original model). Without a manifest: unit scale, mean 0,
 * std 1, layout guessed from the input shape, first output as logits. When some op lacks a rule
 * the service would fall back to SPSA; the check then reports mode "spsa", maxRelError null and
 * ok false (there is no exact gradient to verify), and lists every offending node with its reason.
 *
 * Exit codes: 0 when the model was inspected (whether or not its gradient is exact: read
 * `gradient.mode` / `unsupported`), 2 for a usage error, 1 when the model cannot be read or
 * analyzed at all (not ONNX, no 4-D input without a manifest, ...).
 */
import { parseArgs } from "node:util";
import { ManifestSchema } from "../registry/manifest.ts";
import { checkGradient } from "../gradcheck/gradcheck.ts";
import { auditCommand } from "./audit.ts";
import { defaultSpec, findUnsupportedOps, type GradientSpec, inspectModel } from "../autodiff/mod.ts";

export interface InspectReport {
  model: string;
  opset: number;
  irVersion: number;
  producer: string;
  ops: Record<string, number>;
  inputs: { name: string; dims: (number | string)[]; elemType: number }[];
  outputs: { name: string; dims: (number | string)[]; elemType: number }[];
  spec: GradientSpec;
  unsupported: string[];
  unsupportedNodes: { opType: string; nodeName: string; reason: string }[];
  gradient: {
    mode: "exact" | "spsa";
    maxRelError: number | null;
    ok: boolean;
    logitsMaxAbsDiff?: number;
    buildMs?: number;
    /** Exact mode: cosine of a default-budget SPSA estimate with the exact gradient (small inputs). */
    spsaCosine?: number | null;
  };
}

/** Inspect one model file (see module doc). */
export async function inspectFile(path: string, manifestPath?: string): Promise<InspectReport> {
  const bytes = Deno.readFileSync(path);
  let spec: GradientSpec;
  if (manifestPath) {
    const m = ManifestSchema.parse(JSON.parse(Deno.readTextFileSync(manifestPath)));
    spec = { input: m.input, output: m.output };
  } else {
    spec = defaultSpec(bytes);
  }
  const info = inspectModel(bytes, spec);
  const unsupportedNodes = findUnsupportedOps(bytes, spec);
  const gradient: InspectReport["gradient"] = unsupportedNodes.length > 0
    ? { mode: "spsa", maxRelError: null, ok: false }
    // In-process, unlike the server (checkGradientInWorker): this process has nothing else to answer meanwhile.
    : await checkGradient(bytes, spec);
  return { model: path, ...info, spec, unsupportedNodes, gradient };
}

function dims(d: (number | string)[]): string {
  return `[${d.join(", ")}]`;
}

function render(r: InspectReport): string {
  const lines = [
    `model     ${r.model}`,
    `producer  ${r.producer || "?"}   opset ${r.opset}   IR ${r.irVersion}`,
    ...r.inputs.map((v) => `input     ${v.name} ${dims(v.dims)} (type ${v.elemType})`),
    ...r.outputs.map((v) => `output    ${v.name} ${dims(v.dims)} (type ${v.elemType})`),
    `spec      ${r.spec.input.layout} ${r.spec.input.channels}×${r.spec.input.height}×${r.spec.input.width}, scale ${r.spec.input.scale}, ` +
    `mean [${r.spec.input.mean}], std [${r.spec.input.std}], output "${r.spec.output.name}" (${r.spec.output.kind})`,
    "ops:",
    ...Object.entries(r.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([op, n]) =>
      `  ${String(n).padStart(5)}  ${op}`
    ),
    r.unsupportedNodes.length === 0 ? "unsupported: none" : `unsupported: ${r.unsupported.join(", ")}\n` +
      r.unsupportedNodes.map((n) => `  ${n.opType} "${n.nodeName}": ${n.reason}`).join("\n"),
  ];
  const g = r.gradient;
  lines.push(
    g.mode === "exact"
      ? `gradient  exact; finite differences: max relative error ${g.maxRelError!.toExponential(2)}, ` +
        `logits vs original max |Δ| ${g.logitsMaxAbsDiff!.toExponential(2)} → ${g.ok ? "OK" : "MISMATCH"}` +
        (g.spsaCosine == null
          ? ""
          : `\n          SPSA fallback at its default budget: cosine ${
            g.spsaCosine.toFixed(3)
          } with the exact gradient`)
      : "gradient  spsa (no exact gradient: ops above lack a rule)",
  );
  return lines.join("\n");
}

const USAGE =
  "usage: deno task cli inspect <model.onnx> [--json] [--manifest manifest.json]\n       deno task cli audit --help";

async function main(args: string[]): Promise<number> {
  if (args[0] === "audit") return await auditCommand(args.slice(1));
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: "boolean" }, manifest: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help || positionals[0] !== "inspect" || positionals.length !== 2) {
    console.error(USAGE);
    return 2;
  }
  const report = await inspectFile(positionals[1], values.manifest);
  console.log(values.json ? JSON.stringify(report) : render(report));
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`error: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
