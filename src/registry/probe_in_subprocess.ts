/**
 * `probeClassifier` in a process of its own (probe_process.ts). onnxruntime builds sessions in native or WASM code
 * that terminating a Worker does not stop: the gradient graph of a chain of 5 000 Relus takes onnxruntime-node 28 s
 * to build and 160 s at 10 000 (BENCHMARKS.md, "Upload validation"), and a malformed graph may crash onnxruntime
 * outright. A process can be killed at a time limit, and its crash is not the server's. It is kept between uploads
 * (starting one costs 0.4 s native, 1.5 s WASM, which compiles onnxruntime-web first) and ends when idle.
 */
import { messageOf } from "../errors.ts";
import type { Manifest } from "../model/manifest.ts";
import type { BackendName } from "../runtime/protocol.ts";
import type { OneShotLimits } from "../runtime/one_shot_worker.ts";
import type { ClassifierProbe } from "./probe_classifier.ts";

/** How the probe process runs its sessions: as the serving engine does. */
export interface ProbeProcessOptions {
  backend: BackendName;
  threads: number;
}

/** One request's header, before the model's `bytes` bytes. */
export interface ProbeRequest {
  manifest: Manifest;
  sha256: string;
  bytes: number;
}

/** The probe did not finish within its time limit; its process was killed. */
export class ProbeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`loading the model did not finish within ${timeoutMs} ms`);
    this.name = "ProbeTimeoutError";
  }
}

/** The probe's process ended without an answer: onnxruntime crashed or ran out of memory on the model. */
export class ProbeCrashError extends Error {
  constructor(readonly how: string, readonly stderr: string) {
    super(`the process loading the model ended with ${how}`);
    this.name = "ProbeCrashError";
  }
}

/** No process can be spawned here (no `--allow-run`, or a runtime without subprocesses such as Deno Deploy). */
export class SubprocessUnavailableError extends Error {
  constructor(message: string) {
    super(`cannot spawn a process to load uploads in: ${message}`);
    this.name = "SubprocessUnavailableError";
  }
}

/** Loads uploads in a process of its own, one at a time. */
export interface UploadProber {
  /** Rejects with ProbeTimeoutError, ProbeCrashError, SubprocessUnavailableError or the signal's reason. */
  probe(manifest: Manifest, sha256: string, modelBytes: Uint8Array, limits?: OneShotLimits): Promise<ClassifierProbe>;
  /** Ends the process (a probe in flight rejects). */
  close(): Promise<void>;
  /** The pid of its process while one runs (for `ps`, and for tests that must tell it from other servers'). */
  pid(): number | undefined;
}

const SCRIPT = new URL("./probe_process.ts", import.meta.url);
const CONFIG = new URL("../../deno.json", import.meta.url);
/** The child reads files (its modules, onnxruntime's binaries) and loads onnxruntime-node's addon; nothing else. */
const PERMISSIONS = ["--allow-read", "--allow-env", "--allow-ffi", "--allow-sys"];
/** Enough of the child's stderr to say why it died. */
const STDERR_TAIL = 2_000;
/** An idle probe process exits after this long: it holds onnxruntime and the memory of the last model it loaded. */
const IDLE_MS = 30_000;

function configArgs(): string[] {
  try {
    Deno.statSync(CONFIG);
    return ["--config", CONFIG.pathname];
  } catch {
    return [];
  }
}

/** One running probe process: a writer for requests and its answers, line by line. */
class ProbeProcess {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: string[] = [];
  #wake: (() => void) | undefined;
  #stdoutEnded = false;
  #stderr = "";
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(options: ProbeProcessOptions) {
    try {
      this.#child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--no-prompt", ...configArgs(), ...PERMISSIONS, SCRIPT.href, JSON.stringify(options)],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (error) {
      throw new SubprocessUnavailableError(messageOf(error));
    }
    this.#writer = this.#child.stdin.getWriter();
    this.exited = this.#child.status;
    this.#readLines();
    this.#readStderr();
  }

  async #readLines(): Promise<void> {
    const decoder = new TextDecoder();
    let partial = "";
    for await (const chunk of this.#child.stdout) {
      partial += decoder.decode(chunk, { stream: true });
      for (let at = partial.indexOf("\n"); at >= 0; at = partial.indexOf("\n")) {
        this.#lines.push(partial.slice(0, at));
        partial = partial.slice(at + 1);
      }
      this.#wake?.();
    }
    this.#stdoutEnded = true;
    this.#wake?.();
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.#child.stderr) {
      this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
    }
  }

  /** The next answer line, or null once the process has closed its stdout. */
  async nextLine(): Promise<string | null> {
    while (this.#lines.length === 0 && !this.#stdoutEnded) await new Promise<void>((wake) => (this.#wake = wake));
    return this.#lines.shift() ?? null;
  }

  async send(request: ProbeRequest, modelBytes: Uint8Array): Promise<void> {
    const header = new TextEncoder().encode(JSON.stringify(request));
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, header.length, true);
    await this.#writer.write(length);
    await this.#writer.write(header);
    await this.#writer.write(modelBytes);
  }

  get stderr(): string {
    return this.#stderr;
  }

  get pid(): number {
    return this.#child.pid;
  }

  kill(): void {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It has already exited.
    }
  }

  /** Closes its stdin, which ends it once it has answered. */
  async end(): Promise<void> {
    await this.#writer.close().catch(() => {});
  }
}

/** A prober whose process starts on the first upload, serves uploads one at a time and exits when idle. */
export function startSubprocessProber(options: ProbeProcessOptions): UploadProber {
  let process: ProbeProcess | undefined;
  let idle: ReturnType<typeof setTimeout> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const retire = async (which: ProbeProcess, how: "kill" | "end") => {
    if (process === which) process = undefined;
    if (how === "kill") which.kill();
    else await which.end();
    await which.exited;
  };

  async function probeOnce(
    manifest: Manifest,
    sha256: string,
    modelBytes: Uint8Array,
    { signal, timeoutMs }: OneShotLimits,
  ): Promise<ClassifierProbe> {
    signal?.throwIfAborted();
    if (closed) throw new SubprocessUnavailableError("the prober is closed");
    clearTimeout(idle);
    const running = process ??= new ProbeProcess(options);
    let stoppedBy: "timeout" | "abort" | undefined;
    const stop = (why: "timeout" | "abort") => {
      stoppedBy ??= why;
      running.kill();
    };
    const onAbort = () => stop("abort");
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => stop("timeout"), timeoutMs);
    try {
      // A process that died (or was killed) meanwhile refuses the write; its answer line is then missing too.
      await running.send({ manifest, sha256, bytes: modelBytes.length }, modelBytes).catch(() => {});
      const line = await running.nextLine();
      if (line !== null) {
        const idleTimer = setTimeout(() => retire(running, "end"), IDLE_MS);
        Deno.unrefTimer(idleTimer);
        idle = idleTimer;
        return JSON.parse(line) as ClassifierProbe;
      }
      await retire(running, "kill");
      if (stoppedBy === "abort") throw signal!.reason;
      if (stoppedBy === "timeout") throw new ProbeTimeoutError(timeoutMs!);
      const status = await running.exited;
      const how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
      throw new ProbeCrashError(how, running.stderr);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    }
  }

  return {
    probe(manifest, sha256, modelBytes, limits = {}) {
      const result = queue.then(() => probeOnce(manifest, sha256, modelBytes, limits));
      queue = result.catch(() => {});
      return result;
    },
    async close() {
      closed = true;
      clearTimeout(idle);
      if (process) await retire(process, "kill");
    },
    pid: () => process?.pid,
  };
}
