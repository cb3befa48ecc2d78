/**
 * The probes' own process (probe_in_subprocess.ts spawns it and kills it at a time limit). stdin carries requests,
 * each a little-endian u32 header length, the header as JSON (ProbeRequest) and the model's `bytes` bytes; stdout
 * answers each with one line, its ClassifierProbe as JSON. It serves one request at a time and exits when stdin ends.
 */
import { probeClassifier } from "./probe_classifier.ts";
import type { ProbeProcessOptions, ProbeRequest } from "./probe_in_subprocess.ts";
import { startWorkerPool } from "../runtime/worker_pool.ts";

const options: ProbeProcessOptions = JSON.parse(Deno.args[0]);
const engine = await startWorkerPool({ backend: options.backend, threads: options.threads, workers: 1 });
const reader = Deno.stdin.readable.getReader();
let buffered = new Uint8Array(0);

/** The next `n` bytes of stdin, or null once it has ended. */
async function read(n: number): Promise<Uint8Array | null> {
  while (buffered.length < n) {
    const { value, done } = await reader.read();
    if (done) return null;
    const joined = new Uint8Array(buffered.length + value.length);
    joined.set(buffered);
    joined.set(value, buffered.length);
    buffered = joined;
  }
  const out = buffered.slice(0, n);
  buffered = buffered.subarray(n);
  return out;
}

while (true) {
  const length = await read(4);
  if (!length) break;
  const header = await read(new DataView(length.buffer).getUint32(0, true));
  if (!header) break;
  const request: ProbeRequest = JSON.parse(new TextDecoder().decode(header));
  const modelBytes = await read(request.bytes);
  if (!modelBytes) break;
  const probe = await probeClassifier(engine, request.manifest, modelBytes, request.sha256);
  await Deno.stdout.write(new TextEncoder().encode(`${JSON.stringify(probe)}\n`));
}
engine.close();
Deno.exit(0);
