/**
 * The C ABI through Deno.dlopen (Deno only). The few Deno APIs used are
 * typed locally so that this file also type-checks under tsc.
 */

import type { RawLibrary } from "./raw.ts";

type PointerValue = object | null;

interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, { parameters: readonly string[]; result: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  UnsafePointerView: { getCString(pointer: NonNullable<PointerValue>): string };
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s`. */
function c(s: string): Uint8Array {
  return encoder.encode(`${s}\0`);
}

const STR = "buffer";
const signatures: Record<string, readonly string[]> = {
  tasker_build_id: [],
  tasker_session_connect: [STR, STR],
  tasker_session_worker_id: ["u64"],
  tasker_session_queue_name: ["u64"],
  tasker_session_claim: ["u64", "u64"],
  tasker_session_complete: ["u64", STR, STR],
  tasker_session_fail: ["u64", STR, STR],
  tasker_session_wait_for_work: ["u64", "u64"],
  tasker_session_free: ["u64"],
  tasker_health_serve: [STR, "u32", STR, STR, STR],
  tasker_health_address: ["u64"],
  tasker_health_shutdown: ["u64"],
  tasker_testing_submit: [STR, STR, STR, STR],
  tasker_testing_settle: [STR, "i64", "u64"],
};

/** Opens the library at `path`. */
export function open(path: string): RawLibrary {
  const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const definitions: Record<string, { parameters: readonly string[]; result: string }> = {
    tasker_string_free: { parameters: ["pointer"], result: "void" },
  };
  for (const [name, parameters] of Object.entries(signatures)) {
    definitions[name] = { parameters, result: "pointer" };
  }
  const s = deno.dlopen(path, definitions).symbols;
  const call = (name: string, ...args: unknown[]): string => {
    const fn = s[name];
    if (fn === undefined) {
      throw new Error(`tasker: symbol ${name} is not bound`);
    }
    const pointer = fn(...args) as PointerValue;
    if (pointer === null) {
      throw new Error("tasker: the native library returned a null string");
    }
    try {
      return deno.UnsafePointerView.getCString(pointer);
    } finally {
      s.tasker_string_free?.(pointer);
    }
  };
  return {
    runtime: "deno",
    path,
    buildId: () => call("tasker_build_id"),
    sessionConnect: (url, ns) => call("tasker_session_connect", c(url), c(ns)),
    sessionWorkerId: (h) => call("tasker_session_worker_id", h),
    sessionQueueName: (h) => call("tasker_session_queue_name", h),
    sessionClaim: (h, vt) => call("tasker_session_claim", h, vt),
    sessionComplete: (h, step, result) => call("tasker_session_complete", h, c(step), c(result)),
    sessionFail: (h, step, message) => call("tasker_session_fail", h, c(step), c(message)),
    sessionWaitForWork: (h, ms) => call("tasker_session_wait_for_work", h, ms),
    sessionFree: (h) => call("tasker_session_free", h),
    healthServe: (host, port, url, service, version) =>
      call("tasker_health_serve", c(host), port, c(url), c(service), c(version)),
    healthAddress: (h) => call("tasker_health_address", h),
    healthShutdown: (h) => call("tasker_health_shutdown", h),
    testingSubmit: (url, ns, handler, input) => call("tasker_testing_submit", c(url), c(ns), c(handler), c(input)),
    testingSettle: (url, id, ms) => call("tasker_testing_settle", c(url), id, ms),
  };
}
