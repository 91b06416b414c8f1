// Integration tests under Node (koffi): need DATABASE_URL (skipped otherwise).
import { integrationCases } from "../shared/integration-cases.ts";
import { register } from "./register.ts";

register(integrationCases("node"));
