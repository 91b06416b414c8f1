/** Registers shared cases with bun:test. */

import { test } from "bun:test";
import type { TestCase } from "../shared/harness.ts";

export function register(cases: readonly TestCase[]): void {
  const reasons = new Set<string>();
  for (const c of cases) {
    if (c.skip !== undefined) {
      reasons.add(c.skip);
      test.skip(`${c.name} (skipped: ${c.skip})`, c.fn);
    } else {
      test(c.name, c.fn, c.timeoutMs ?? 20_000);
    }
  }
  for (const reason of reasons) {
    console.warn(`skipping: ${reason}`);
  }
}
