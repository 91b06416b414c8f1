/**
 * Integration tests (need DATABASE_URL, skipped otherwise): a task
 * submitted through the Rust testing helpers, processed by this package's
 * worker loop and handlers in a unique namespace, then settled.
 */

import assert from "node:assert/strict";
import process from "node:process";
import { SERVICE } from "../../src/core/config.ts";
import { registry } from "../../src/core/handlers.ts";
import { type Step, TaskerError } from "../../src/core/types.ts";
import { type Outcome, Worker } from "../../src/core/worker.ts";
import { loadNative } from "../../src/ffi/loader.ts";
import type { Native, Session } from "../../src/ffi/native.ts";
import type { Runtime } from "../../src/ffi/raw.ts";
import { eventually, getHealth, integrationSkipReason, sleep, type TestCase } from "./harness.ts";

const SETTLE_MS = 15_000;

export function integrationCases(runtime: Runtime): TestCase[] {
  const skip = integrationSkipReason();
  const url = (): string => process.env.DATABASE_URL?.trim() ?? "";
  let counter = 0;
  /** A namespace no other test or worker uses: typescript_it_<runtime>_<pid>_<n>. */
  const namespace = (): string => `typescript_it_${runtime}_${process.pid}_${++counter}`;

  /** A worker for a fresh namespace, connected (so its queue exists) before anything is submitted. */
  const setup = async (): Promise<{ native: Native; ns: string; worker: Worker }> => {
    const native = await loadNative();
    const ns = namespace();
    const worker = new Worker({ connect: () => native.connect(url(), ns), registry: registry(), log: () => {} });
    worker.session();
    return { native, ns, worker };
  };

  /** Processes steps until one is claimed (a step is visible as soon as submit commits). */
  const processOne = async (worker: Worker): Promise<Outcome> => {
    const deadline = Date.now() + SETTLE_MS;
    for (;;) {
      const outcome = await worker.processOne();
      if (outcome !== null) {
        return outcome;
      }
      assert.ok(Date.now() < deadline, "no step was claimed");
      await sleep(20);
    }
  };

  const claim = async (session: Session): Promise<Step> =>
    eventually("a step", SETTLE_MS, () => session.claim(30_000) ?? undefined);

  const cases: TestCase[] = [
    {
      name: "sum: a submitted task completes with the handler's result",
      fn: async () => {
        const { native, ns, worker } = await setup();
        try {
          const id = native.submit(url(), ns, "sum", { numbers: [1, 2, 3] });
          const outcome = await processOne(worker);
          assert.equal(outcome.kind, "completed");
          assert.equal(outcome.step.taskId, id);
          assert.equal(outcome.step.namespace, ns);
          assert.equal(outcome.step.attempt, 1);
          const task = native.settle(url(), id, SETTLE_MS);
          assert.equal(task.status, "complete", JSON.stringify(task));
          assert.deepEqual(task.result, { sum: 6 });
          assert.equal(task.error ?? null, null);
        } finally {
          worker.close();
        }
      },
    },
    {
      name: "reverse: UTF-8 survives the round trip through the database",
      fn: async () => {
        const { native, ns, worker } = await setup();
        try {
          const id = native.submit(url(), ns, "reverse", { text: "héllo 😀" });
          assert.equal((await processOne(worker)).kind, "completed");
          const task = native.settle(url(), id, SETTLE_MS);
          assert.equal(task.status, "complete");
          assert.deepEqual(task.result, { reversed: "😀 olléh" });
        } finally {
          worker.close();
        }
      },
    },
    {
      name: "fail: the task ends in error with the handler's message",
      fn: async () => {
        const { native, ns, worker } = await setup();
        try {
          const id = native.submit(url(), ns, "fail", { message: "boom from typescript" });
          const outcome = await processOne(worker);
          assert.equal(outcome.kind, "failed");
          const task = native.settle(url(), id, SETTLE_MS);
          assert.equal(task.status, "error", JSON.stringify(task));
          assert.ok(task.error?.includes("boom from typescript"), JSON.stringify(task));
        } finally {
          worker.close();
        }
      },
    },
    {
      name: "an unknown handler fails the task with a message naming it",
      fn: async () => {
        const { native, ns, worker } = await setup();
        try {
          const id = native.submit(url(), ns, "no_such_handler", null);
          await processOne(worker);
          const task = native.settle(url(), id, SETTLE_MS);
          assert.equal(task.status, "error");
          assert.ok(task.error?.includes('no handler registered for "no_such_handler"'), JSON.stringify(task));
        } finally {
          worker.close();
        }
      },
    },
    {
      name: "run() processes until stopped; wait_for_work wakes on a submit",
      timeoutMs: 60_000,
      fn: async () => {
        const { native, ns, worker } = await setup();
        const stop = new AbortController();
        const running = worker.run(stop.signal);
        try {
          await sleep(50);
          const ids = [
            native.submit(url(), ns, "sum", [40, 2]),
            native.submit(url(), ns, "reverse", "abc"),
            native.submit(url(), ns, "fail", null),
          ];
          await eventually("three steps", SETTLE_MS, () =>
            worker.stats.completed + worker.stats.failed >= 3 ? true : undefined,
          );
          stop.abort();
          assert.deepEqual(await running, { completed: 2, failed: 1, stale: 0 });
          const tasks = ids.map((id) => native.settle(url(), id, SETTLE_MS));
          assert.deepEqual(
            tasks.map((t) => [t.status, t.result]),
            [
              ["complete", { sum: 42 }],
              ["complete", { reversed: "cba" }],
              ["error", null],
            ],
          );
          assert.equal(tasks[2]?.error, "fail: this handler always fails");
        } finally {
          stop.abort();
          await running;
        }
      },
    },
    {
      name: "the bridge's errors surface as TaskerError (bad step, bad result JSON, stale claim)",
      fn: async () => {
        const native = await loadNative();
        const ns = namespace();
        const session = native.connect(url(), ns);
        try {
          assert.equal(session.queueName, `${ns}_queue`);
          assert.ok(session.workerId.startsWith(`${ns}-`), session.workerId);
          assert.equal(session.claim(1_000), null);
          const id = native.submit(url(), ns, "sum", [1]);
          assert.equal(session.waitForWork(5_000), true, "NOTIFY after submit");
          const step = await claim(session);
          assert.equal(step.taskId, id);
          assert.throws(
            () => session.completeJson('{"msg_id":1}', "{}"),
            (e: unknown) => {
              return e instanceof TaskerError && /step: missing field step_id/.test(e.message);
            },
          );
          assert.throws(
            () => session.completeJson(step, "{bad"),
            (e: unknown) => {
              return e instanceof TaskerError && e.message.startsWith("invalid JSON");
            },
          );
          session.fail(step, "given up");
          assert.throws(
            () => session.complete(step, 1),
            (e: unknown) => {
              return e instanceof TaskerError && e.message.includes("is no longer claimed by this worker");
            },
          );
          const task = native.settle(url(), id, SETTLE_MS);
          assert.equal(task.status, "error");
          assert.equal(task.error, "given up");
        } finally {
          session.close();
        }
      },
    },
    {
      name: "serve_health answers 200 when the database is up",
      fn: async () => {
        const native = await loadNative();
        const server = native.serveHealth({
          host: "127.0.0.1",
          port: 0,
          databaseUrl: url(),
          service: SERVICE,
          version: "0.1.0",
        });
        try {
          const { status, body } = await getHealth(server.address);
          assert.equal(status, 200, JSON.stringify(body));
          assert.equal(body.status, "healthy");
          assert.equal(body.service, SERVICE);
        } finally {
          server.shutdown();
        }
      },
    },
  ];
  return cases.map((c) => ({ timeoutMs: 30_000, ...c, skip }));
}
