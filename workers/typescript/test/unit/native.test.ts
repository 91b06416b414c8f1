// The envelope decoding and handle wrappers, over an in-memory RawLibrary
// (no native code): the FFI tests cover the real library.
import { describe, expect, test } from "bun:test";
import { TaskerError } from "../../src/core/types.ts";
import { cText, cUint, Native, parseStep, unwrap } from "../../src/ffi/native.ts";
import type { RawLibrary } from "../../src/ffi/raw.ts";

const STEP = {
  msg_id: 1,
  step_id: 2,
  task_id: 3,
  namespace: "typescript",
  handler: "sum",
  input: [1, 2],
  attempt: 1,
};

const ok = (value: unknown): string => JSON.stringify({ ok: value });
const err = (message: string): string => JSON.stringify({ error: message });

function fakeLibrary(calls: string[][]): RawLibrary {
  let queued: string | null = JSON.stringify(STEP);
  const record =
    (name: string, reply: (...args: string[]) => string) =>
    (...args: unknown[]): string => {
      calls.push([name, ...args.map(String)]);
      return reply(...args.map(String));
    };
  return {
    runtime: "bun",
    path: "/fake.so",
    buildId: record("buildId", () => ok("abc123")),
    sessionConnect: record("sessionConnect", (url) => (url.includes("down") ? err("connection refused") : ok(7))),
    sessionWorkerId: record("sessionWorkerId", () => ok("typescript-1-1")),
    sessionQueueName: record("sessionQueueName", () => ok("typescript_queue")),
    sessionClaim: record("sessionClaim", () => {
      const step = queued;
      queued = null;
      return ok(step);
    }),
    sessionComplete: record("sessionComplete", () => ok(null)),
    sessionFail: record("sessionFail", () => ok(null)),
    sessionWaitForWork: record("sessionWaitForWork", () => ok(false)),
    sessionFree: record("sessionFree", () => ok(true)),
    healthServe: record("healthServe", (_h, port) =>
      port === "1" ? err("cannot listen on 0.0.0.0:1: denied") : ok(9),
    ),
    healthAddress: record("healthAddress", () => ok("127.0.0.1:4321")),
    healthShutdown: record("healthShutdown", () => ok(null)),
    testingSubmit: record("testingSubmit", () => ok(42)),
    testingSettle: record("testingSettle", () =>
      ok({ id: 42, namespace: "n", handler: "sum", status: "complete", result: { sum: 3 }, error: null }),
    ),
  };
}

describe("unwrap", () => {
  test("returns ok values", () => {
    expect(unwrap('{"ok":1}', "f")).toBe(1);
    expect(unwrap('{"ok":null}', "f")).toBeNull();
  });

  test("throws errors as TaskerError with the Rust message", () => {
    expect(() => unwrap('{"error":"boom"}', "f")).toThrow(new TaskerError("boom"));
  });

  test("names the function on garbage", () => {
    expect(() => unwrap("nope", "claim")).toThrow("claim: the library returned invalid JSON");
    expect(() => unwrap("[1]", "claim")).toThrow("claim: the library returned an unexpected value");
    expect(() => unwrap("{}", "claim")).toThrow("unexpected value");
  });
});

describe("argument checks", () => {
  test("cText rejects NUL", () => {
    expect(cText("abc", "x")).toBe("abc");
    expect(() => cText("a\0b", "message")).toThrow("message contains a NUL character");
  });

  test("cUint rejects negatives and fractions", () => {
    expect(cUint(0, "t")).toBe(0);
    expect(() => cUint(-1, "timeout")).toThrow("timeout must be a non-negative integer, got -1");
    expect(() => cUint(1.5, "timeout")).toThrow("got 1.5");
    expect(() => cUint(Number.NaN, "timeout")).toThrow("got NaN");
  });
});

describe("parseStep", () => {
  test("camelCases and keeps the raw text", () => {
    const raw = JSON.stringify(STEP);
    expect(parseStep(raw)).toEqual({
      msgId: 1,
      stepId: 2,
      taskId: 3,
      namespace: "typescript",
      handler: "sum",
      input: [1, 2],
      attempt: 1,
      raw,
    });
  });

  test("names the bad field like the bridge", () => {
    expect(() => parseStep('{"msg_id":1,"step_id":"x"}')).toThrow("step: missing field step_id (an integer)");
    expect(() => parseStep(JSON.stringify({ ...STEP, handler: 1 }))).toThrow("step: missing field handler (a string)");
    expect(() => parseStep("nope")).toThrow("step is not JSON");
    expect(() => parseStep("[]")).toThrow("step is not a JSON object");
  });

  test("missing input is null", () => {
    const { input: _, ...rest } = STEP;
    expect(parseStep(JSON.stringify(rest)).input).toBeNull();
  });
});

describe("Native over a fake library", () => {
  test("session round trip passes the step text back verbatim", () => {
    const calls: string[][] = [];
    const native = new Native(fakeLibrary(calls));
    expect(native.buildId()).toBe("abc123");
    expect(native.runtime).toBe("bun");
    const session = native.connect("postgresql://up/db", "typescript");
    expect(session.workerId).toBe("typescript-1-1");
    expect(session.queueName).toBe("typescript_queue");
    const step = session.claim(30_000);
    expect(step?.handler).toBe("sum");
    expect(session.claim(30_000)).toBeNull();
    if (step === null) throw new Error("no step");
    session.complete(step, { sum: 3 });
    session.fail(step.raw, "bad");
    expect(session.waitForWork(5)).toBe(false);
    session.close();
    session.close();
    expect(session.closed).toBe(true);
    expect(() => session.claim(1)).toThrow("session is closed");
    expect(calls).toContainEqual(["sessionClaim", "7", "30000"]);
    expect(calls).toContainEqual(["sessionComplete", "7", step.raw, '{"sum":3}']);
    expect(calls).toContainEqual(["sessionFail", "7", step.raw, "bad"]);
    expect(calls.filter((c) => c[0] === "sessionFree")).toEqual([["sessionFree", "7"]]);
  });

  test("complete(undefined) sends null", () => {
    const calls: string[][] = [];
    const session = new Native(fakeLibrary(calls)).connect("postgresql://up/db", "t");
    session.complete(JSON.stringify(STEP), undefined);
    expect(calls.at(-1)?.at(-1)).toBe("null");
  });

  test("errors become TaskerError", () => {
    const native = new Native(fakeLibrary([]));
    expect(() => native.connect("postgresql://down/db", "t")).toThrow(new TaskerError("connection refused"));
    expect(() => native.connect("postgresql://up/db", "a\0b")).toThrow("namespace contains a NUL character");
  });

  test("health server and testing helpers", () => {
    const calls: string[][] = [];
    const native = new Native(fakeLibrary(calls));
    const server = native.serveHealth({ host: "127.0.0.1", port: 0, databaseUrl: "u", service: "s", version: "v" });
    expect(server.address).toBe("127.0.0.1:4321");
    expect(server.port).toBe(4321);
    server.shutdown();
    server.shutdown();
    expect(calls.filter((c) => c[0] === "healthShutdown").length).toBe(1);
    expect(() => native.serveHealth({ host: "h", port: 1, databaseUrl: "u", service: "s", version: "v" })).toThrow(
      "cannot listen on 0.0.0.0:1: denied",
    );
    expect(native.submit("u", "n", "sum", { numbers: [1] })).toBe(42);
    expect(calls.at(-1)).toEqual(["testingSubmit", "u", "n", "sum", '{"numbers":[1]}']);
    expect(native.settle("u", 42, 1000).status).toBe("complete");
  });
});
