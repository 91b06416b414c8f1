/**
 * Prints the build id (`TASKER_BUILD_ID` at compile time) and the path of
 * the native library the current runtime loads, as one JSON line:
 * `{"runtime":"bun","path":"/.../libtasker_worker_ts.so","buildId":"..."}`.
 * Exit 1 (message on stderr) when the library cannot be loaded.
 */

import process from "node:process";
import { errorMessage } from "../core/types.ts";
import { loadNative } from "../ffi/loader.ts";

try {
  const native = await loadNative();
  console.log(JSON.stringify({ runtime: native.runtime, path: native.path, buildId: native.buildId() }));
} catch (e) {
  console.error(`tasker build-id: ${errorMessage(e)}`);
  process.exit(1);
}
