// Integration tests under Deno: need DATABASE_URL (skipped otherwise).
import { integrationCases } from "../shared/integration-cases.ts";
import { definition, warnSkips } from "./register.ts";

const cases = integrationCases("deno");
warnSkips(cases);
for (const c of cases) {
  Deno.test(definition(c));
}
