/**
 * Typed access to the native library: decodes the `{"ok"}` / `{"error"}`
 * envelopes (errors become {@link TaskerError} with the Rust message) and
 * wraps handles in objects. Runtime-neutral; no worker logic.
 */

import { type Step, type Task, TaskerError } from "../core/types.ts";
import type { RawLibrary, Runtime } from "./raw.ts";

/** Decodes an envelope returned by `fn`: its `ok` value, or throws its `error` as a {@link TaskerError}. */
export function unwrap(text: string, fn: string): unknown {
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch (e) {
    throw new TaskerError(`${fn}: the library returned invalid JSON (${String(e)}): ${text.slice(0, 200)}`);
  }
  if (typeof envelope === "object" && envelope !== null && !Array.isArray(envelope)) {
    if ("error" in envelope) {
      throw new TaskerError(String(envelope.error));
    }
    if ("ok" in envelope) {
      return envelope.ok;
    }
  }
  throw new TaskerError(`${fn}: the library returned an unexpected value: ${text.slice(0, 200)}`);
}

/** Rejects text the C ABI cannot carry (NUL terminates C strings). */
export function cText(value: string, what: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${what} must be a string`);
  }
  if (value.includes("\0")) {
    throw new TaskerError(`${what} contains a NUL character`);
  }
  return value;
}

/** A non-negative safe integer, for timeouts, ports and ids. */
export function cUint(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TaskerError(`${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

function asHandle(value: unknown, fn: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw new TaskerError(`${fn}: expected a handle, got ${JSON.stringify(value)}`);
  }
  return value;
}

function asString(value: unknown, fn: string): string {
  if (typeof value !== "string") {
    throw new TaskerError(`${fn}: expected a string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses the bridge's step JSON (`{"msg_id","step_id","task_id","namespace","handler","input","attempt"}`). */
export function parseStep(raw: string): Step {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new TaskerError(`step is not JSON: ${String(e)}`);
  }
  if (!isRecord(v)) {
    throw new TaskerError("step is not a JSON object");
  }
  const step = v;
  const int = (k: string): number => {
    const x = step[k];
    if (typeof x !== "number" || !Number.isInteger(x)) {
      throw new TaskerError(`step: missing field ${k} (an integer)`);
    }
    return x;
  };
  const text = (k: string): string => {
    const x = step[k];
    if (typeof x !== "string") {
      throw new TaskerError(`step: missing field ${k} (a string)`);
    }
    return x;
  };
  return {
    msgId: int("msg_id"),
    stepId: int("step_id"),
    taskId: int("task_id"),
    namespace: text("namespace"),
    handler: text("handler"),
    input: step.input ?? null,
    attempt: int("attempt"),
    raw,
  };
}

/** A step, or the step JSON text the library returned. */
export type StepRef = Step | string;

function stepText(step: StepRef): string {
  return typeof step === "string" ? step : step.raw;
}

/** A connected worker session for one namespace (see `tasker_worker::bridge::Session`). */
export class Session {
  readonly #raw: RawLibrary;
  #handle: number | null;
  readonly workerId: string;
  readonly queueName: string;

  constructor(raw: RawLibrary, handle: number) {
    this.#raw = raw;
    this.#handle = handle;
    this.workerId = asString(unwrap(raw.sessionWorkerId(handle), "worker_id"), "worker_id");
    this.queueName = asString(unwrap(raw.sessionQueueName(handle), "queue_name"), "queue_name");
  }

  get closed(): boolean {
    return this.#handle === null;
  }

  #open(): number {
    if (this.#handle === null) {
      throw new TaskerError("session is closed");
    }
    return this.#handle;
  }

  /** Claims the next step, or null when nothing is visible. */
  claim(visibilityTimeoutMs: number): Step | null {
    const ok = unwrap(this.#raw.sessionClaim(this.#open(), cUint(visibilityTimeoutMs, "visibility timeout")), "claim");
    return ok === null ? null : parseStep(asString(ok, "claim"));
  }

  /** Records a successful outcome: `result` is serialized with JSON.stringify (undefined → null). */
  complete(step: StepRef, result: unknown): void {
    this.completeJson(step, JSON.stringify(result) ?? "null");
  }

  /** Records a successful outcome given as JSON text. */
  completeJson(step: StepRef, resultJson: string): void {
    const text = cText(stepText(step), "step JSON");
    unwrap(this.#raw.sessionComplete(this.#open(), text, cText(resultJson, "result JSON")), "complete");
  }

  /** Records a failure with `message`. */
  fail(step: StepRef, message: string): void {
    const text = cText(stepText(step), "step JSON");
    unwrap(this.#raw.sessionFail(this.#open(), text, cText(message, "message")), "fail");
  }

  /** Blocks until work is announced for the namespace (true) or the timeout passes (false). */
  waitForWork(timeoutMs: number): boolean {
    return unwrap(this.#raw.sessionWaitForWork(this.#open(), cUint(timeoutMs, "timeout")), "wait_for_work") === true;
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    if (this.#handle !== null) {
      const handle = this.#handle;
      this.#handle = null;
      unwrap(this.#raw.sessionFree(handle), "session_free");
    }
  }
}

/** A running `/health` server (see `tasker_worker::bridge::serve_health`). */
export class HealthServer {
  readonly #raw: RawLibrary;
  #handle: number | null;
  /** The bound address, `ip:port`. */
  readonly address: string;

  constructor(raw: RawLibrary, handle: number) {
    this.#raw = raw;
    this.#handle = handle;
    this.address = asString(unwrap(raw.healthAddress(handle), "health_address"), "health_address");
  }

  /** The bound port. */
  get port(): number {
    return Number(this.address.slice(this.address.lastIndexOf(":") + 1));
  }

  /** Stops the server (waits for in-flight requests). Idempotent. */
  shutdown(): void {
    if (this.#handle !== null) {
      const handle = this.#handle;
      this.#handle = null;
      unwrap(this.#raw.healthShutdown(handle), "health_shutdown");
    }
  }
}

export interface HealthOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly databaseUrl: string;
  readonly service: string;
  readonly version: string;
}

/** The loaded native library. */
export class Native {
  readonly #raw: RawLibrary;

  constructor(raw: RawLibrary) {
    this.#raw = raw;
  }

  get runtime(): Runtime {
    return this.#raw.runtime;
  }

  /** The library file that was loaded. */
  get path(): string {
    return this.#raw.path;
  }

  /** The runtime binding itself (envelope text in, envelope text out), for tests. */
  get raw(): RawLibrary {
    return this.#raw;
  }

  /** The `TASKER_BUILD_ID` the library was compiled with ("unknown" when unset). */
  buildId(): string {
    return asString(unwrap(this.#raw.buildId(), "build_id"), "build_id");
  }

  /** Connects a session for `namespace` (creates its queue, starts listening). */
  connect(databaseUrl: string, namespace: string): Session {
    const ok = unwrap(
      this.#raw.sessionConnect(cText(databaseUrl, "database URL"), cText(namespace, "namespace")),
      "connect",
    );
    return new Session(this.#raw, asHandle(ok, "connect"));
  }

  /** Starts the `/health` server in the background (Rust threads). */
  serveHealth(options: HealthOptions): HealthServer {
    const ok = unwrap(
      this.#raw.healthServe(
        cText(options.host, "host"),
        cUint(options.port, "port"),
        cText(options.databaseUrl, "database URL"),
        cText(options.service, "service"),
        cText(options.version, "version"),
      ),
      "health_serve",
    );
    return new HealthServer(this.#raw, asHandle(ok, "health_serve"));
  }

  /** Submits a task as the API does (integration tests); returns its id. */
  submit(databaseUrl: string, namespace: string, handler: string, input: unknown): number {
    const ok = unwrap(
      this.#raw.testingSubmit(
        cText(databaseUrl, "database URL"),
        cText(namespace, "namespace"),
        cText(handler, "handler"),
        JSON.stringify(input) ?? "null",
      ),
      "submit",
    );
    if (typeof ok !== "number") {
      throw new TaskerError(`submit: expected a task id, got ${JSON.stringify(ok)}`);
    }
    return ok;
  }

  /** Processes orchestration results until the task is final (integration tests). */
  settle(databaseUrl: string, taskId: number, timeoutMs: number): Task {
    const ok = unwrap(
      this.#raw.testingSettle(
        cText(databaseUrl, "database URL"),
        cUint(taskId, "task id"),
        cUint(timeoutMs, "timeout"),
      ),
      "settle",
    );
    if (!isRecord(ok)) {
      throw new TaskerError(`settle: expected a task, got ${JSON.stringify(ok)}`);
    }
    return ok as unknown as Task;
  }
}
