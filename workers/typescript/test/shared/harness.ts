/**
 * Test cases written once and registered by each runtime's test framework
 * (bun:test, node:test, Deno.test): see test/bun, test/node, test/deno.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { connect } from "node:net";
import process from "node:process";

export interface TestCase {
  readonly name: string;
  /** Why the case is skipped, if it is. */
  readonly skip?: string | undefined;
  readonly timeoutMs?: number;
  readonly fn: () => void | Promise<void>;
}

/** Why the integration tests are skipped, or undefined when DATABASE_URL is set. */
export function integrationSkipReason(): string | undefined {
  const url = process.env.DATABASE_URL?.trim();
  return url
    ? undefined
    : "DATABASE_URL is not set: integration tests need PostgreSQL (`go tool mage db:setup`, then export DATABASE_URL)";
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` (with pauses that let the event loop run) until it returns a value or `timeoutMs` passes. */
export async function eventually<T>(what: string, timeoutMs: number, check: () => T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(20);
  }
}

/** A worker process started by a test. */
export class Spawned {
  readonly child: ChildProcess;
  stderr = "";
  stdout = "";
  readonly exited: Promise<{ code: number | null; signal: string | null }>;

  constructor(argv: readonly string[], env: Record<string, string | undefined>, cwd: string) {
    const [command, ...args] = argv;
    if (command === undefined) {
      throw new Error("empty command");
    }
    this.child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    this.child.stderr?.setEncoding("utf8");
    this.child.stdout?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.child.stdout?.on("data", (chunk: string) => {
      this.stdout += chunk;
    });
    this.exited = new Promise((resolve, reject) => {
      this.child.on("error", reject);
      this.child.on("close", (code, signal) => resolve({ code, signal }));
    });
  }

  /** Waits until stderr matches `pattern`; returns the match. */
  waitForStderr(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return eventually(
      `stderr to match ${pattern} (stderr so far: ${JSON.stringify(this.stderr)})`,
      timeoutMs,
      () => this.stderr.match(pattern) ?? undefined,
    );
  }

  /** Waits for the exit, failing after `timeoutMs` (and killing the process). */
  async exit(timeoutMs = 15_000): Promise<{ code: number | null; signal: string | null }> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill("SIGKILL");
        reject(new Error(`process did not exit within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends `signal` by pid (Deno's node:child_process reports a child it
   * signalled with `child.kill()` as killed even when it exited 0).
   */
  signal(signal: NodeJS.Signals): void {
    if (this.child.pid !== undefined) {
      process.kill(this.child.pid, signal);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill("SIGKILL");
    }
  }
}

/** The body of `GET /health` (tasker_shared::health::HealthReport). */
export interface HealthBody {
  readonly status: "healthy" | "unhealthy";
  readonly service: string;
  readonly version: string;
  readonly checks: Record<string, { readonly status: string; readonly message?: string }>;
}

/** GETs `/health` from `address` (`host:port`). */
export async function getHealth(address: string): Promise<{ status: number; body: HealthBody }> {
  const res = await fetch(`http://${address}/health`, { headers: { connection: "close" } });
  return { status: res.status, body: (await res.json()) as HealthBody };
}

/**
 * True when a new TCP connection to `host:port` is refused (nothing
 * listens). A raw socket, because fetch may reuse a kept-alive connection.
 */
export function connectionRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}
