import { RequestError } from "../errors.ts";

export interface AdmissionOptions {
  /** Model-work requests running at once. */
  maxInFlight: number;
  /** Requests waiting for a slot; one more is refused with 503 `overloaded`. */
  maxQueue: number;
}

/** What admission reports to metrics. */
export interface AdmissionObserver {
  waited?(seconds: number): void;
  rejected?(): void;
  /** After every change of the running and waiting counts. */
  changed?(inFlight: number, queued: number): void;
}

interface Waiter {
  grant(release: () => void): void;
  fail(error: unknown): void;
}

/**
 * A bounded amount of model work in flight and a bounded FIFO queue in front of it. Past both, a request is refused at
 * once (503 with Retry-After), so an overloaded server sheds load instead of queueing without end. A waiter whose
 * signal aborts (deadline, client gone) leaves the queue.
 */
export class Admission {
  #inFlight = 0;
  readonly #queue: Waiter[] = [];
  /** Mean time a slot is held (exponentially weighted), for Retry-After. */
  #meanHoldSeconds = 1;

  constructor(readonly options: AdmissionOptions, readonly observer: AdmissionObserver = {}) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Seconds until a slot is likely free: the queue ahead times the mean hold time, over the slots. */
  retryAfterSeconds(): number {
    const ahead = this.#queue.length + 1;
    return Math.max(1, Math.ceil((ahead * this.#meanHoldSeconds) / this.options.maxInFlight));
  }

  /** Waits for a slot; resolves to its release function (call it once, when the work is done). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const queuedAt = performance.now();
    if (this.#inFlight < this.options.maxInFlight) {
      this.#inFlight++;
      this.observer.waited?.(0);
      this.#changed();
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.options.maxQueue) {
      this.observer.rejected?.();
      const retry = this.retryAfterSeconds();
      return Promise.reject(
        new RequestError(
          503,
          "overloaded",
          `the server is at capacity (${this.options.maxInFlight} running, ${this.#queue.length} waiting); retry in ${retry} s`,
          { "retry-after": String(retry) },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i >= 0) this.#queue.splice(i, 1);
        this.#changed();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener("abort", onAbort);
          this.observer.waited?.((performance.now() - queuedAt) / 1000);
          resolve(release);
        },
        fail: reject,
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
      this.#changed();
    });
  }

  #releaser(): () => void {
    const start = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const held = (performance.now() - start) / 1000;
      this.#meanHoldSeconds = 0.8 * this.#meanHoldSeconds + 0.2 * held;
      const next = this.#queue.shift();
      // The slot passes straight to the next waiter: in-flight stays the same.
      if (next) next.grant(this.#releaser());
      else this.#inFlight--;
      this.#changed();
    };
  }

  #changed(): void {
    this.observer.changed?.(this.#inFlight, this.#queue.length);
  }
}
