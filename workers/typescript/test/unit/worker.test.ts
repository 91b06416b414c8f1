// The worker loop's logic over fake sessions (no database): outcomes,
// stale claims, reconnect with backoff, logging once, stopping.
import { describe, expect, test } from "bun:test";
import { registry } from "../../src/core/handlers.ts";
import { HandlerRegistry } from "../../src/core/registry.ts";
import type { Step } from "../../src/core/types.ts";
import { abortableSleep, isStaleClaim, runHandler, Worker, type WorkSession } from "../../src/core/worker.ts";

function step(handler: string, input: unknown, stepId = 1): Step {
  const fields = { msg_id: stepId, step_id: stepId, task_id: 10, namespace: "t", handler, input, attempt: 1 };
  return {
    msgId: stepId,
    stepId,
    taskId: 10,
    namespace: "t",
    handler,
    input,
    attempt: 1,
    raw: JSON.stringify(fields),
  };
}

class FakeSession implements WorkSession {
  readonly workerId = "t-1-1";
  readonly queueName = "t_queue";
  readonly completed: [Step, string][] = [];
  readonly failed: [Step, string][] = [];
  waits = 0;
  closed = false;
  /** Thrown by the next call of any method, once. */
  breakWith: Error | null = null;
  completeError: Error | null = null;

  constructor(readonly queue: Step[] = []) {}

  #check(): void {
    if (this.breakWith !== null) {
      const e = this.breakWith;
      this.breakWith = null;
      throw e;
    }
  }
  claim(): Step | null {
    this.#check();
    return this.queue.shift() ?? null;
  }
  completeJson(s: Step, json: string): void {
    this.#check();
    if (this.completeError !== null) throw this.completeError;
    this.completed.push([s, json]);
  }
  fail(s: Step, message: string): void {
    this.#check();
    this.failed.push([s, message]);
  }
  waitForWork(): boolean {
    this.#check();
    this.waits += 1;
    return false;
  }
  close(): void {
    this.closed = true;
  }
}

class DroppingSession extends FakeSession {
  override waitForWork(): boolean {
    throw new Error("server closed the connection");
  }
}

describe("runHandler", () => {
  test("serializes results", async () => {
    expect(await runHandler(registry(), step("sum", [1, 2]))).toEqual({
      ok: true,
      result: { sum: 3 },
      json: '{"sum":3}',
    });
    const undef = await runHandler(
      new HandlerRegistry().register("u", () => undefined),
      step("u", null),
    );
    expect(undef).toEqual({ ok: true, result: undefined, json: "null" });
  });

  test("turns every failure into a message", async () => {
    expect(await runHandler(registry(), step("fail", { message: "boom" }))).toEqual({ ok: false, error: "boom" });
    expect(await runHandler(registry(), step("nope", null))).toEqual({
      ok: false,
      error: 'no handler registered for "nope" (known: fail, reverse, sum)',
    });
    const odd = new HandlerRegistry()
      .register("big", () => 1n)
      .register("str", () => {
        throw "plain string";
      })
      .register("rejects", () => Promise.reject(new Error("async boom")));
    const big = await runHandler(odd, step("big", null));
    expect(big.ok).toBe(false);
    expect(!big.ok && big.error).toContain('handler "big" returned a value that is not JSON');
    expect(await runHandler(odd, step("str", null))).toEqual({ ok: false, error: "plain string" });
    expect(await runHandler(odd, step("rejects", null))).toEqual({ ok: false, error: "async boom" });
  });
});

test("stale claims are recognized by the bridge's message", () => {
  expect(
    isStaleClaim("step 5 is no longer claimed by this worker (visibility timeout passed or already finished)"),
  ).toBe(true);
  expect(isStaleClaim("connection refused")).toBe(false);
});

describe("Worker.processOne", () => {
  test("completes, fails and reports an empty queue", async () => {
    const session = new FakeSession([
      step("sum", { numbers: [1, 2] }, 1),
      step("reverse", "abc", 2),
      step("fail", null, 3),
      step("missing", null, 4),
    ]);
    const logs: string[] = [];
    const worker = new Worker({ connect: () => session, registry: registry(), log: (l) => logs.push(l) });
    expect(await worker.processOne()).toEqual({
      kind: "completed",
      step: session.completed[0]?.[0] as Step,
      result: { sum: 3 },
    });
    expect((await worker.processOne())?.kind).toBe("completed");
    expect(await worker.processOne()).toMatchObject({ kind: "failed", error: "fail: this handler always fails" });
    expect(await worker.processOne()).toMatchObject({ kind: "failed", error: expect.stringContaining('"missing"') });
    expect(await worker.processOne()).toBeNull();
    expect(session.completed.map(([s, json]) => [s.stepId, json])).toEqual([
      [1, '{"sum":3}'],
      [2, '{"reversed":"cba"}'],
    ]);
    expect(session.failed.map(([s, m]) => [s.stepId, m])).toEqual([
      [3, "fail: this handler always fails"],
      [4, 'no handler registered for "missing" (known: fail, reverse, sum)'],
    ]);
    expect(worker.stats).toEqual({ completed: 2, failed: 2, stale: 0 });
    expect(logs).toEqual(["tasker-worker-typescript: t-1-1 serving t_queue with handlers fail, reverse, sum"]);
  });

  test("NUL in a failure message cannot cut it short", async () => {
    const session = new FakeSession([step("fail", { message: "a\0b" })]);
    const worker = new Worker({ connect: () => session, registry: registry(), log: () => {} });
    await worker.processOne();
    expect(session.failed[0]?.[1]).toBe("a\\u0000b");
  });

  test("a stale claim is counted, not thrown", async () => {
    const session = new FakeSession([step("sum", [1])]);
    session.completeError = new Error("step 1 is no longer claimed by this worker (visibility timeout passed)");
    const logs: string[] = [];
    const worker = new Worker({ connect: () => session, registry: registry(), log: (l) => logs.push(l) });
    expect((await worker.processOne())?.kind).toBe("stale");
    expect(worker.stats.stale).toBe(1);
    expect(logs.at(-1)).toContain("no longer claimed");
  });

  test("database errors are thrown", async () => {
    const session = new FakeSession([step("sum", [1])]);
    session.completeError = new Error("connection reset");
    const worker = new Worker({ connect: () => session, registry: registry(), log: () => {} });
    await expect(worker.processOne()).rejects.toThrow("connection reset");
  });
});

describe("Worker.run", () => {
  test("reconnects with doubling backoff, logs each error once, stops on abort", async () => {
    const stop = new AbortController();
    const sessions: FakeSession[] = [];
    let attempts = 0;
    const connect = (): WorkSession => {
      attempts += 1;
      if (attempts <= 5) throw new Error("connection refused");
      if (attempts === 6) {
        // Drops the connection after the step: the next wait fails.
        const s = new DroppingSession([step("sum", [2, 3])]);
        sessions.push(s);
        return s;
      }
      const s = new FakeSession([step("reverse", "ab")]);
      sessions.push(s);
      return s;
    };
    const sleeps: number[] = [];
    const logs: string[] = [];
    const worker = new Worker({
      connect,
      registry: registry(),
      log: (l) => logs.push(l),
      maxBackoffMs: 1000,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const running = worker.run(stop.signal);
    while (worker.stats.completed < 2) {
      await new Promise((r) => setTimeout(r, 1));
    }
    stop.abort();
    const stats = await running;
    expect(stats).toEqual({ completed: 2, failed: 0, stale: 0 });
    // 5 failed connects: 250, 500, 1000 (capped), 1000, 1000; then reset after connecting.
    expect(sleeps.slice(0, 6)).toEqual([250, 500, 1000, 1000, 1000, 250]);
    expect(logs.filter((l) => l.includes("connection refused"))).toEqual([
      "tasker-worker-typescript: connection refused (retrying)",
    ]);
    expect(logs).toContain("tasker-worker-typescript: server closed the connection (retrying)");
    expect(logs.at(-1)).toBe("tasker-worker-typescript: stopping after 2 completed, 0 failed, 0 stale");
    expect(sessions[0]?.closed).toBe(true);
    expect(sessions.at(-1)?.closed).toBe(true);
  });

  test("waits for work when idle and returns at once when already stopped", async () => {
    const session = new FakeSession();
    const stop = new AbortController();
    const worker = new Worker({ connect: () => session, registry: registry(), log: () => {} });
    const running = worker.run(stop.signal);
    while (session.waits < 3) {
      await new Promise((r) => setTimeout(r, 1));
    }
    stop.abort();
    expect(await running).toEqual({ completed: 0, failed: 0, stale: 0 });
    expect(session.closed).toBe(true);

    let connects = 0;
    const idle = new Worker({
      connect: () => {
        connects += 1;
        return new FakeSession();
      },
      registry: registry(),
      log: () => {},
    });
    expect(await idle.run(AbortSignal.abort())).toEqual({ completed: 0, failed: 0, stale: 0 });
    expect(connects).toBe(0);
  });
});

test("abortableSleep ends early on abort", async () => {
  const stop = new AbortController();
  const started = Date.now();
  const sleeping = abortableSleep(10_000, stop.signal);
  setTimeout(() => stop.abort(), 10);
  await sleeping;
  expect(Date.now() - started).toBeLessThan(2_000);
  await abortableSleep(10_000, stop.signal);
});
