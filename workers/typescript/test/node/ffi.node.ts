// FFI tests under Node (koffi), compiled to dist/test/node/ffi.node.js: the real library, no database.
import { ffiCases } from "../shared/ffi-cases.ts";
import { processCases } from "../shared/process-cases.ts";
import { register } from "./register.ts";

register([...ffiCases("node"), ...processCases("node")]);
