/**
 * The C ABI of `libtasker_worker_ts` as each runtime binds it: every
 * function returns the text of a JSON envelope, `{"ok": ...}` or
 * `{"error": "..."}` (see ffi/src/lib.rs). Implementations (bun.ts, node.ts,
 * deno.ts) only marshal strings and integers and free the returned string;
 * {@link ./native.ts} decodes the envelopes.
 */

export type Runtime = "bun" | "node" | "deno";

export interface RawLibrary {
  readonly runtime: Runtime;
  /** The shared library file that was loaded. */
  readonly path: string;
  buildId(): string;
  sessionConnect(databaseUrl: string, namespace: string): string;
  sessionWorkerId(handle: number): string;
  sessionQueueName(handle: number): string;
  sessionClaim(handle: number, visibilityTimeoutMs: number): string;
  sessionComplete(handle: number, stepJson: string, resultJson: string): string;
  sessionFail(handle: number, stepJson: string, message: string): string;
  sessionWaitForWork(handle: number, timeoutMs: number): string;
  sessionFree(handle: number): string;
  healthServe(host: string, port: number, databaseUrl: string, service: string, version: string): string;
  healthAddress(handle: number): string;
  healthShutdown(handle: number): string;
  testingSubmit(databaseUrl: string, namespace: string, handler: string, inputJson: string): string;
  testingSettle(databaseUrl: string, taskId: number, timeoutMs: number): string;
}

/** The exported symbols, for implementations that bind by name. */
export const SYMBOLS = [
  "tasker_string_free",
  "tasker_build_id",
  "tasker_session_connect",
  "tasker_session_worker_id",
  "tasker_session_queue_name",
  "tasker_session_claim",
  "tasker_session_complete",
  "tasker_session_fail",
  "tasker_session_wait_for_work",
  "tasker_session_free",
  "tasker_health_serve",
  "tasker_health_address",
  "tasker_health_shutdown",
  "tasker_testing_submit",
  "tasker_testing_settle",
] as const;
