/**
 * Shared cases as Deno.test definitions (type-checked by `deno test`, not
 * tsc). Each test file calls Deno.test itself so the JUnit suites are named
 * after the test files.
 */

import type { TestCase } from "../shared/harness.ts";

export function definition(c: TestCase): Deno.TestDefinition {
  return {
    name: c.skip === undefined ? c.name : `${c.name} (skipped: ${c.skip})`,
    ignore: c.skip !== undefined,
    // Health servers and spawned workers outlive single operations by
    // design; each case cleans up after itself.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      await c.fn();
    },
  };
}

export function warnSkips(cases: readonly TestCase[]): void {
  for (const reason of new Set(cases.flatMap((c) => (c.skip === undefined ? [] : [c.skip])))) {
    console.warn(`skipping: ${reason}`);
  }
}
