/** Registers shared cases with node:test. */

import { test } from "node:test";
import type { TestCase } from "../shared/harness.ts";

export function register(cases: readonly TestCase[]): void {
  for (const c of cases) {
    test(c.name, { skip: c.skip ?? false, timeout: c.timeoutMs ?? 20_000 }, async () => {
      await c.fn();
    });
  }
}
