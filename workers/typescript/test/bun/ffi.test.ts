// FFI tests under Bun (bun:ffi): the real library, no database.
import { ffiCases } from "../shared/ffi-cases.ts";
import { processCases } from "../shared/process-cases.ts";
import { register } from "./register.ts";

register([...ffiCases("bun"), ...processCases("bun")]);
