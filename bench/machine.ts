/** What the numbers were measured on: CPU, load, versions. */
import denoJson from "../deno.json" with { type: "json" };

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  loadAverage: string;
  deno: string;
  v8: string;
  onnxruntimeWeb: string;
  onnxruntimeNode: string;
  torch: string;
}

async function cpuModel(): Promise<string> {
  try {
    const text = await Deno.readTextFile("/proc/cpuinfo");
    return text.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** 1/5/15-minute load averages: other work on the machine skews absolute numbers, not ratios. */
export async function loadAverage(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

function importVersion(name: string): string {
  const spec = (denoJson.imports as Record<string, string>)[name] ?? "";
  return spec.split("@").at(-1) ?? "unknown";
}

export async function describeMachine(torchVersion: string): Promise<Machine> {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpu: await cpuModel(),
    cores: navigator.hardwareConcurrency,
    loadAverage: await loadAverage(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    onnxruntimeWeb: importVersion("onnxruntime-web"),
    onnxruntimeNode: importVersion("onnxruntime-node"),
    torch: torchVersion,
  };
}
