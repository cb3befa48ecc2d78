/**
 * Client of tools/bench_torch.py, the PyTorch-eager side of the benchmark. It runs as a JSON-lines
 * subprocess so that its measurements can be interleaved, request by request, with robustcheck's:
 * noise on this 2-core machine then hits both sides alike.
 */

export const SYSTEM_PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("../tools/bench_torch.py", import.meta.url).pathname;

export interface TorchClient {
  /** Runtime name in the tables: "pytorch" (2 threads) or "pytorch-1t". */
  readonly name: string;
  readonly threads: number;
  request<T>(body: Record<string, unknown>): Promise<T>;
  close(): Promise<void>;
}

/** Version of torch under /usr/bin/python3, or an explanation of why it is unusable. */
export async function probeTorch(): Promise<{ ok: true; version: string } | { ok: false; reason: string }> {
  try {
    const out = await new Deno.Command(SYSTEM_PYTHON, {
      args: ["-c", "import torch, torchvision, onnx; print(torch.__version__)"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      const err = new TextDecoder().decode(out.stderr).trim().split("\n").at(-1);
      return { ok: false, reason: `${SYSTEM_PYTHON} cannot import torch/torchvision/onnx (${err})` };
    }
    return { ok: true, version: new TextDecoder().decode(out.stdout).trim() };
  } catch (error) {
    return { ok: false, reason: `${SYSTEM_PYTHON} is not runnable (${(error as Error).message})` };
  }
}

/** One bench_torch.py process with `threads` intra-op threads. */
export function startTorch(threads: number): TorchClient {
  const child = new Deno.Command(SYSTEM_PYTHON, {
    args: [SCRIPT, String(threads)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    // Every thread pool torch may use gets the same count (its OpenMP one, and OpenBLAS's or MKL's under Linear).
    env: { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
  }).spawn();
  const writer = child.stdin.getWriter();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const encoder = new TextEncoder();
  let buffered = "";

  async function readLine(): Promise<string> {
    while (!buffered.includes("\n")) {
      const { value, done } = await lines.read();
      if (done) throw new Error("bench_torch.py exited");
      buffered += value;
    }
    const end = buffered.indexOf("\n");
    const line = buffered.slice(0, end);
    buffered = buffered.slice(end + 1);
    return line;
  }

  return {
    name: threads === 2 ? "pytorch" : `pytorch-${threads}t`,
    threads,
    async request<T>(body: Record<string, unknown>): Promise<T> {
      await writer.write(encoder.encode(JSON.stringify(body) + "\n"));
      const reply = JSON.parse(await readLine());
      if (reply.error) throw new Error(`bench_torch.py ${body.cmd}: ${reply.error}`);
      return reply as T;
    },
    async close() {
      await writer.write(encoder.encode('{"cmd":"quit"}\n')).catch(() => {});
      await writer.close().catch(() => {});
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
      await child.status;
    },
  };
}
