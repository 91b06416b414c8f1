/** The C ABI through koffi (Node). */

import koffi from "koffi";
import type { RawLibrary } from "./raw.ts";

/** Opens the library at `path`. */
export function open(path: string): RawLibrary {
  const lib = koffi.load(path);
  const free = lib.func("void tasker_string_free(void *ptr)");
  // A string type koffi decodes (UTF-8) and then frees with tasker_string_free.
  // Anonymous (the name is global to koffi), so loading twice does not clash.
  const owned = koffi.disposable("str", free);
  const fn = (name: string, args: string[]) => lib.func(name, owned, args);
  const STR = "const char *";
  const s = {
    buildId: fn("tasker_build_id", []),
    sessionConnect: fn("tasker_session_connect", [STR, STR]),
    sessionWorkerId: fn("tasker_session_worker_id", ["uint64_t"]),
    sessionQueueName: fn("tasker_session_queue_name", ["uint64_t"]),
    sessionClaim: fn("tasker_session_claim", ["uint64_t", "uint64_t"]),
    sessionComplete: fn("tasker_session_complete", ["uint64_t", STR, STR]),
    sessionFail: fn("tasker_session_fail", ["uint64_t", STR, STR]),
    sessionWaitForWork: fn("tasker_session_wait_for_work", ["uint64_t", "uint64_t"]),
    sessionFree: fn("tasker_session_free", ["uint64_t"]),
    healthServe: fn("tasker_health_serve", [STR, "uint32_t", STR, STR, STR]),
    healthAddress: fn("tasker_health_address", ["uint64_t"]),
    healthShutdown: fn("tasker_health_shutdown", ["uint64_t"]),
    testingSubmit: fn("tasker_testing_submit", [STR, STR, STR, STR]),
    testingSettle: fn("tasker_testing_settle", [STR, "int64_t", "uint64_t"]),
  };
  const text = (value: unknown): string => {
    if (typeof value !== "string") {
      throw new Error("tasker: the native library returned a null string");
    }
    return value;
  };
  return {
    runtime: "node",
    path,
    buildId: () => text(s.buildId()),
    sessionConnect: (url, ns) => text(s.sessionConnect(url, ns)),
    sessionWorkerId: (h) => text(s.sessionWorkerId(h)),
    sessionQueueName: (h) => text(s.sessionQueueName(h)),
    sessionClaim: (h, vt) => text(s.sessionClaim(h, vt)),
    sessionComplete: (h, step, result) => text(s.sessionComplete(h, step, result)),
    sessionFail: (h, step, message) => text(s.sessionFail(h, step, message)),
    sessionWaitForWork: (h, ms) => text(s.sessionWaitForWork(h, ms)),
    sessionFree: (h) => text(s.sessionFree(h)),
    healthServe: (host, port, url, service, version) => text(s.healthServe(host, port, url, service, version)),
    healthAddress: (h) => text(s.healthAddress(h)),
    healthShutdown: (h) => text(s.healthShutdown(h)),
    testingSubmit: (url, ns, handler, input) => text(s.testingSubmit(url, ns, handler, input)),
    testingSettle: (url, id, ms) => text(s.testingSettle(url, id, ms)),
  };
}
