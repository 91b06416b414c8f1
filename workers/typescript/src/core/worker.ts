/**
 * The worker loop: claim a step, run its handler, record the outcome; wait
 * for work when the queue is empty; reconnect with backoff when the
 * database goes away. Mirrors `tasker_worker::Worker::run` and the Rust
 * worker's main loop, over any {@link WorkSession} (the native
 * `Session`, or a fake in unit tests).
 */

import type { HandlerRegistry } from "./registry.ts";
import { errorMessage, type Step } from "./types.ts";

/** What the loop needs from a connection (implemented by the native `Session`). */
export interface WorkSession {
  readonly workerId: string;
  readonly queueName: string;
  claim(visibilityTimeoutMs: number): Step | null;
  completeJson(step: Step, resultJson: string): void;
  fail(step: Step, message: string): void;
  waitForWork(timeoutMs: number): boolean;
  close(): void;
}

/** The outcome of one claimed step. */
export type Outcome =
  | { readonly kind: "completed"; readonly step: Step; readonly result: unknown }
  | { readonly kind: "failed"; readonly step: Step; readonly error: string }
  /** The claim went stale before the outcome was recorded (another worker owns the step now). */
  | { readonly kind: "stale"; readonly step: Step; readonly error: string };

export interface RunStats {
  completed: number;
  failed: number;
  stale: number;
}

/** What running a handler gave: the result as JSON text, or an error message. */
export type HandlerOutcome =
  | { readonly ok: true; readonly result: unknown; readonly json: string }
  | { readonly ok: false; readonly error: string };

/**
 * Runs the step's handler. An unknown handler, a thrown error or a result
 * that is not JSON-serializable becomes `{ok: false, error}`; never throws.
 */
export async function runHandler(registry: HandlerRegistry, step: Step): Promise<HandlerOutcome> {
  let result: unknown;
  try {
    result = await registry.call(step.handler, step.input);
  } catch (e) {
    return { ok: false, error: errorMessage(e) };
  }
  try {
    return { ok: true, result, json: JSON.stringify(result) ?? "null" };
  } catch (e) {
    return {
      ok: false,
      error: `handler ${JSON.stringify(step.handler)} returned a value that is not JSON: ${errorMessage(e)}`,
    };
  }
}

/** True for the bridge's "the claim went stale" error (`WorkerError::StaleClaim`). */
export function isStaleClaim(message: string): boolean {
  return message.includes("is no longer claimed by this worker");
}

/** Error messages cross the C ABI as C strings: NUL would cut them short. */
function cSafe(message: string): string {
  return message.replaceAll("\0", "\\u0000");
}

export interface WorkerOptions {
  /** Opens a connection for the namespace (e.g. `() => native.connect(url, namespace)`); throws when it cannot. */
  readonly connect: () => WorkSession;
  readonly registry: HandlerRegistry;
  /** Visibility timeout of claims (default 30 s). */
  readonly visibilityTimeoutMs?: number;
  /** Longest wait for a NOTIFY when the queue is empty (default 1 s). */
  readonly pollIntervalMs?: number;
  /** First reconnect delay (default 250 ms), doubled up to {@link maxBackoffMs}. */
  readonly initialBackoffMs?: number;
  /** Longest reconnect delay (default 10 s). */
  readonly maxBackoffMs?: number;
  /** Where log lines go (default: stderr via console.error). */
  readonly log?: (line: string) => void;
  /** Prefix of log lines (default "tasker-worker-typescript"). */
  readonly name?: string;
  /** Sleeps `ms` or until `signal` aborts (injectable for tests). */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Sleeps `ms`, returning early when `signal` aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Lets timers, I/O and signal handlers run between blocking native calls. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A worker for one namespace. */
export class Worker {
  readonly #connect: () => WorkSession;
  readonly #registry: HandlerRegistry;
  readonly #visibilityTimeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #log: (line: string) => void;
  readonly #name: string;
  readonly #sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  #session: WorkSession | null = null;
  /** Totals since the worker was created. */
  readonly stats: RunStats = { completed: 0, failed: 0, stale: 0 };

  constructor(options: WorkerOptions) {
    this.#connect = options.connect;
    this.#registry = options.registry;
    this.#visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
    this.#initialBackoffMs = options.initialBackoffMs ?? 250;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#name = options.name ?? "tasker-worker-typescript";
    this.#sleep = options.sleep ?? abortableSleep;
  }

  /** The current connection, opening one if needed (throws when it cannot). */
  session(): WorkSession {
    if (this.#session === null) {
      const session = this.#connect();
      this.#session = session;
      this.#log(
        `${this.#name}: ${session.workerId} serving ${session.queueName} with handlers ${this.#registry.names().join(", ")}`,
      );
    }
    return this.#session;
  }

  /** Closes the connection (a later call reconnects). */
  close(): void {
    const session = this.#session;
    this.#session = null;
    if (session !== null) {
      try {
        session.close();
      } catch {
        // already gone
      }
    }
  }

  /**
   * Claims one step and processes it: null when nothing is visible.
   * Handler failures are recorded on the step (never thrown); database
   * errors are thrown (the caller reconnects).
   */
  async processOne(): Promise<Outcome | null> {
    const session = this.session();
    const step = session.claim(this.#visibilityTimeoutMs);
    if (step === null) {
      return null;
    }
    const outcome = await runHandler(this.#registry, step);
    try {
      if (outcome.ok) {
        session.completeJson(step, outcome.json);
        this.stats.completed += 1;
        return { kind: "completed", step, result: outcome.result };
      }
      session.fail(step, cSafe(outcome.error));
      this.stats.failed += 1;
      return { kind: "failed", step, error: outcome.error };
    } catch (e) {
      const message = errorMessage(e);
      if (!isStaleClaim(message)) {
        throw e;
      }
      this.#log(`${this.#name}: ${session.workerId}: ${message}`);
      this.stats.stale += 1;
      return { kind: "stale", step, error: message };
    }
  }

  /**
   * Processes steps until `signal` aborts (the step in hand is finished
   * first). When the queue is empty it waits for a NOTIFY (up to the poll
   * interval). A database error is logged once (until it changes), the
   * connection is dropped and reopened after a backoff of 250 ms doubling
   * to 10 s. Returns the totals.
   */
  async run(signal: AbortSignal): Promise<RunStats> {
    let backoff = this.#initialBackoffMs;
    let lastError = "";
    while (!signal.aborted) {
      try {
        const fresh = this.#session === null;
        this.session();
        if (fresh) {
          backoff = this.#initialBackoffMs;
          lastError = "";
        }
        const outcome = await this.processOne();
        if (outcome === null && !signal.aborted) {
          this.session().waitForWork(this.#pollIntervalMs);
        }
        await yieldToEventLoop();
      } catch (e) {
        this.close();
        const message = errorMessage(e);
        if (message !== lastError) {
          this.#log(`${this.#name}: ${message} (retrying)`);
          lastError = message;
        }
        await this.#sleep(backoff, signal);
        backoff = Math.min(backoff * 2, this.#maxBackoffMs);
      }
    }
    this.close();
    const { completed, failed, stale } = this.stats;
    this.#log(`${this.#name}: stopping after ${completed} completed, ${failed} failed, ${stale} stale`);
    return { ...this.stats };
  }
}
