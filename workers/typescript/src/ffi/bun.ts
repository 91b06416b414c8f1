/** The C ABI through bun:ffi (Bun only). */

import { CString, dlopen, FFIType, type Pointer } from "bun:ffi";
import type { RawLibrary } from "./raw.ts";

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s`, kept alive by the caller for the call. */
function c(s: string): Uint8Array {
  return encoder.encode(`${s}\0`);
}

const { ptr, u32, u64, i64 } = FFIType;
const STR = ptr;

const definitions = {
  tasker_string_free: { args: [ptr], returns: FFIType.void },
  tasker_build_id: { args: [], returns: ptr },
  tasker_session_connect: { args: [STR, STR], returns: ptr },
  tasker_session_worker_id: { args: [u64], returns: ptr },
  tasker_session_queue_name: { args: [u64], returns: ptr },
  tasker_session_claim: { args: [u64, u64], returns: ptr },
  tasker_session_complete: { args: [u64, STR, STR], returns: ptr },
  tasker_session_fail: { args: [u64, STR, STR], returns: ptr },
  tasker_session_wait_for_work: { args: [u64, u64], returns: ptr },
  tasker_session_free: { args: [u64], returns: ptr },
  tasker_health_serve: { args: [STR, u32, STR, STR, STR], returns: ptr },
  tasker_health_address: { args: [u64], returns: ptr },
  tasker_health_shutdown: { args: [u64], returns: ptr },
  tasker_testing_submit: { args: [STR, STR, STR, STR], returns: ptr },
  tasker_testing_settle: { args: [STR, i64, u64], returns: ptr },
} as const;

/** Opens the library at `path`. */
export function open(path: string): RawLibrary {
  const { symbols: s } = dlopen(path, definitions);
  /** Copies the returned string and frees it. */
  const take = (p: Pointer | bigint | null): string => {
    if (p === null || p === 0 || p === 0n) {
      throw new Error("tasker: the native library returned a null string");
    }
    const pointer = p as Pointer;
    try {
      return new CString(pointer).toString();
    } finally {
      s.tasker_string_free(pointer);
    }
  };
  return {
    runtime: "bun",
    path,
    buildId: () => take(s.tasker_build_id()),
    sessionConnect: (url, ns) => take(s.tasker_session_connect(c(url), c(ns))),
    sessionWorkerId: (h) => take(s.tasker_session_worker_id(h)),
    sessionQueueName: (h) => take(s.tasker_session_queue_name(h)),
    sessionClaim: (h, vt) => take(s.tasker_session_claim(h, vt)),
    sessionComplete: (h, step, result) => take(s.tasker_session_complete(h, c(step), c(result))),
    sessionFail: (h, step, message) => take(s.tasker_session_fail(h, c(step), c(message))),
    sessionWaitForWork: (h, ms) => take(s.tasker_session_wait_for_work(h, ms)),
    sessionFree: (h) => take(s.tasker_session_free(h)),
    healthServe: (host, port, url, service, version) =>
      take(s.tasker_health_serve(c(host), port, c(url), c(service), c(version))),
    healthAddress: (h) => take(s.tasker_health_address(h)),
    healthShutdown: (h) => take(s.tasker_health_shutdown(h)),
    testingSubmit: (url, ns, handler, input) => take(s.tasker_testing_submit(c(url), c(ns), c(handler), c(input))),
    testingSettle: (url, id, ms) => take(s.tasker_testing_settle(c(url), id, ms)),
  };
}
