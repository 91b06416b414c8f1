/** FFI tests: the real native library, called through the current runtime's FFI (no database). */

import assert from "node:assert/strict";
import process from "node:process";
import { SERVICE } from "../../src/core/config.ts";
import { TaskerError } from "../../src/core/types.ts";
import { detectRuntime, loadNative } from "../../src/ffi/loader.ts";
import type { Native } from "../../src/ffi/native.ts";
import type { Runtime } from "../../src/ffi/raw.ts";
import { connectionRefused, getHealth, sleep, type TestCase } from "./harness.ts";

/** A URL nothing listens on (connection refused at once). */
export const DOWN = "postgresql://nobody:secret@127.0.0.1:1/none";

async function throwsTasker(fn: () => unknown, check: (message: string) => boolean, what: string): Promise<string> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof TaskerError, `expected a TaskerError for ${what}, got ${String(e)}`);
    assert.ok(check(e.message), `unexpected message for ${what}: ${e.message}`);
    return e.message;
  }
  assert.fail(`expected ${what} to throw`);
}

export function ffiCases(runtime: Runtime): TestCase[] {
  let native: Native | undefined;
  const lib = async (): Promise<Native> => {
    native ??= await loadNative();
    return native;
  };
  return [
    {
      name: `loads the library with ${runtime}'s FFI`,
      fn: async () => {
        assert.equal(detectRuntime(), runtime);
        const n = await lib();
        assert.equal(n.runtime, runtime);
        assert.equal(await loadNative(), n, "loading twice reuses the library");
        const id = n.buildId();
        assert.ok(typeof id === "string" && id.length > 0);
        const expected = process.env.TASKER_BUILD_ID?.trim();
        if (expected) {
          assert.equal(id, expected, `stale library at ${n.path}: built with ${id}, expected ${expected}`);
        }
      },
    },
    {
      name: "connect to an unreachable database throws the Rust error",
      fn: async () => {
        const n = await lib();
        await throwsTasker(
          () => n.connect(DOWN, "typescript"),
          (m) => m.length > 0,
          "connect",
        );
      },
    },
    {
      name: "errors carry UTF-8 both ways",
      fn: async () => {
        const n = await lib();
        await throwsTasker(
          () => n.connect(DOWN, "héllo-wörld"),
          (m) => m.includes('invalid namespace "héllo-wörld"'),
          "connect with a bad namespace",
        );
      },
    },
    {
      name: "text with NUL is refused before crossing the boundary",
      fn: async () => {
        const n = await lib();
        await throwsTasker(
          () => n.connect("a\0b", "ts"),
          (m) => m === "database URL contains a NUL character",
          "NUL",
        );
      },
    },
    {
      name: "unknown handles are errors, not crashes",
      fn: async () => {
        const n = await lib();
        const claim = JSON.parse(n.raw.sessionClaim(987_654, 10));
        assert.match(claim.error, /no session with handle 987654/);
        assert.deepEqual(JSON.parse(n.raw.sessionFree(987_654)), { ok: false });
        assert.match(JSON.parse(n.raw.sessionComplete(987_654, "{}", "1")).error, /no session with handle/);
        assert.match(JSON.parse(n.raw.healthAddress(987_654)).error, /no health server with handle 987654/);
        assert.match(JSON.parse(n.raw.healthShutdown(987_654)).error, /no health server/);
      },
    },
    {
      name: "serve_health answers /health with 503 when the database is down",
      timeoutMs: 20_000,
      fn: async () => {
        const n = await lib();
        const server = n.serveHealth({
          host: "127.0.0.1",
          port: 0,
          databaseUrl: DOWN,
          service: SERVICE,
          version: "9.9.9",
        });
        try {
          assert.match(server.address, /^127\.0\.0\.1:\d+$/);
          assert.ok(server.port > 0);
          const { status, body } = await getHealth(server.address);
          assert.equal(status, 503);
          assert.equal(body.status, "unhealthy");
          assert.equal(body.service, SERVICE);
          assert.equal(body.version, "9.9.9");
          assert.equal(body.checks.database?.status, "unhealthy");
          assert.ok((body.checks.database?.message ?? "").length > 0);
          const missing = await fetch(`http://${server.address}/nope`, { headers: { connection: "close" } });
          await missing.body?.cancel();
          assert.equal(missing.status, 404);
        } finally {
          server.shutdown();
        }
        // tiny_http's accept thread may hold the listener a moment after shutdown returns.
        const deadline = Date.now() + 5_000;
        while (!(await connectionRefused("127.0.0.1", server.port))) {
          assert.ok(Date.now() < deadline, "the server is still listening 5 s after shutdown");
          await sleep(50);
        }
      },
    },
    {
      name: "serve_health reports a busy port and a bad one",
      fn: async () => {
        const n = await lib();
        const first = n.serveHealth({ host: "127.0.0.1", port: 0, databaseUrl: DOWN, service: SERVICE, version: "0" });
        try {
          const options = { host: "127.0.0.1", port: first.port, databaseUrl: DOWN, service: SERVICE, version: "0" };
          await throwsTasker(
            () => n.serveHealth(options),
            (m) => m.startsWith(`cannot listen on 127.0.0.1:${first.port}`),
            "busy port",
          );
          await throwsTasker(
            () => n.serveHealth({ ...options, port: 70_000 }),
            (m) => m === "port 70000 is out of range (0-65535)",
            "port 70000",
          );
        } finally {
          first.shutdown();
        }
      },
    },
    {
      name: "testing helpers report errors",
      fn: async () => {
        const n = await lib();
        await throwsTasker(
          () => n.submit(DOWN, "typescript", "sum", [1, 2]),
          (m) => m.length > 0,
          "submit",
        );
        await throwsTasker(
          () => n.settle(DOWN, 1, 10),
          (m) => m.length > 0,
          "settle",
        );
        await throwsTasker(
          () => n.settle(DOWN, -1, 10),
          (m) => m.includes("task id must be a non-negative"),
          "id",
        );
        const raw = JSON.parse(n.raw.testingSubmit(DOWN, "typescript", "sum", "{oops"));
        assert.match(raw.error, /^input is not JSON/);
      },
    },
  ];
}
