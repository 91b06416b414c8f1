// FFI tests under Deno (Deno.dlopen): the real library, no database.
import { ffiCases } from "../shared/ffi-cases.ts";
import { processCases } from "../shared/process-cases.ts";
import { definition, warnSkips } from "./register.ts";

const cases = [...ffiCases("deno"), ...processCases("deno")];
warnSkips(cases);
for (const c of cases) {
  Deno.test(definition(c));
}
