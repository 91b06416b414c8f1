/** The worker process (src/bin/worker.ts) under the current runtime: configuration errors, startup, health, stop. */

import assert from "node:assert/strict";
import { resolve } from "node:path";
import process from "node:process";
import { SERVICE } from "../../src/core/config.ts";
import { packageRoot } from "../../src/ffi/library.ts";
import { loadNative } from "../../src/ffi/loader.ts";
import type { Runtime } from "../../src/ffi/raw.ts";
import { getHealth, Spawned, type TestCase } from "./harness.ts";

/** How each runtime starts the worker (what the build system runs, too). */
export function workerArgv(runtime: Runtime): string[] {
  const root = packageRoot();
  switch (runtime) {
    case "bun":
      return [process.execPath, resolve(root, "src/bin/worker.ts")];
    case "node":
      return [process.execPath, resolve(root, "dist/src/bin/worker.js")];
    case "deno":
      return [
        process.execPath,
        "run",
        "--allow-ffi",
        "--allow-read",
        "--allow-env",
        "--no-lock",
        resolve(root, "src/bin/worker.ts"),
      ];
  }
}

function env(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
  const merged: Record<string, string | undefined> = { ...process.env, TASKER_BIND_HOST: "127.0.0.1" };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) {
      delete merged[k];
    } else {
      merged[k] = v;
    }
  }
  return merged;
}

const PASSWORD = "s3cr3t-pw";
const DOWN = `postgresql://tasker:${PASSWORD}@127.0.0.1:1/none`;

export function processCases(runtime: Runtime): TestCase[] {
  const argv = workerArgv(runtime);
  const run = (overrides: Record<string, string | undefined>): Spawned =>
    new Spawned(argv, env(overrides), packageRoot());
  return [
    {
      name: "worker exits 2 without DATABASE_URL",
      timeoutMs: 30_000,
      fn: async () => {
        const p = run({ DATABASE_URL: undefined });
        const { code } = await p.exit();
        assert.equal(code, 2, p.stderr);
        assert.match(p.stderr, /^tasker-worker-typescript: DATABASE_URL is not set$/m);
      },
    },
    {
      name: "worker exits 2 on a bad port",
      timeoutMs: 30_000,
      fn: async () => {
        const p = run({ DATABASE_URL: DOWN, TYPESCRIPT_WORKER_PORT: "99999" });
        const { code } = await p.exit();
        assert.equal(code, 2, p.stderr);
        assert.match(p.stderr, /TYPESCRIPT_WORKER_PORT="99999" is not a valid port \(1-65535\)/);
      },
    },
    {
      name: "worker exits 1 when the port is busy",
      timeoutMs: 30_000,
      fn: async () => {
        const native = await loadNative();
        const busy = native.serveHealth({ host: "127.0.0.1", port: 0, databaseUrl: DOWN, service: "x", version: "0" });
        try {
          const p = run({ DATABASE_URL: DOWN, TYPESCRIPT_WORKER_PORT: String(busy.port) });
          const { code } = await p.exit();
          assert.equal(code, 1, p.stderr);
          assert.ok(p.stderr.includes(`cannot listen on 127.0.0.1:${busy.port}`), p.stderr);
        } finally {
          busy.shutdown();
        }
      },
    },
    {
      name: "worker starts, redacts the URL, serves /health, retries quietly and stops on SIGTERM",
      timeoutMs: 40_000,
      fn: async () => {
        const native = await loadNative();
        const probe = native.serveHealth({ host: "127.0.0.1", port: 0, databaseUrl: DOWN, service: "x", version: "0" });
        const port = probe.port;
        probe.shutdown();
        const p = run({ DATABASE_URL: DOWN, TYPESCRIPT_WORKER_PORT: String(port), TASKER_ENV: "test" });
        try {
          const line = (await p.waitForStderr(/^tasker-worker-typescript .*health on .*$/m))[0];
          assert.ok(line.includes(`http://127.0.0.1:${port}/health`), line);
          assert.ok(line.includes(`(${runtime})`), line);
          assert.ok(
            line.includes("namespace typescript (env test, database postgresql://tasker:***@127.0.0.1:1/none)"),
            line,
          );
          assert.ok(!p.stderr.includes(PASSWORD), "the password must never be printed");
          await p.waitForStderr(/\(retrying\)$/m);
          const { status, body } = await getHealth(`127.0.0.1:${port}`);
          assert.equal(status, 503);
          assert.equal(body.service, SERVICE);
          // Several reconnects happen (250 + 500 + 1000 ms): the same error is logged once.
          await new Promise((r) => setTimeout(r, 2_000));
          assert.equal(p.stderr.match(/\(retrying\)/g)?.length, 1, p.stderr);
          p.signal("SIGTERM");
          const { code, signal } = await p.exit();
          assert.equal(signal, null, p.stderr);
          assert.equal(code, 0, p.stderr);
          assert.match(p.stderr, /SIGTERM: stopping/);
          assert.match(p.stderr, /stopping after 0 completed, 0 failed, 0 stale/);
          assert.ok(!p.stderr.includes(PASSWORD));
        } finally {
          p.kill();
        }
      },
    },
  ];
}
