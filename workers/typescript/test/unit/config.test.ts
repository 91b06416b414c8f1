import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import {
  ConfigError,
  DEFAULT_BIND_HOST,
  DEFAULT_ENVIRONMENT,
  DEFAULT_PORT,
  NAMESPACE,
  readConfig,
  SERVICE,
  VERSION,
} from "../../src/core/config.ts";

const URL = "postgresql://u:p@h/d";

test("defaults", () => {
  expect(readConfig({ DATABASE_URL: URL })).toEqual({
    databaseUrl: URL,
    environment: DEFAULT_ENVIRONMENT,
    bindHost: DEFAULT_BIND_HOST,
    port: DEFAULT_PORT,
  });
  expect(DEFAULT_PORT).toBe(8085);
  expect(DEFAULT_BIND_HOST).toBe("0.0.0.0");
  expect(NAMESPACE).toBe("typescript");
  expect(SERVICE).toBe("typescript-worker");
});

test("reads every variable", () => {
  expect(
    readConfig({
      DATABASE_URL: URL,
      TASKER_ENV: "test",
      TASKER_BIND_HOST: "127.0.0.1",
      TYPESCRIPT_WORKER_PORT: " 18085 ",
      RUST_WORKER_PORT: "nonsense",
    }),
  ).toEqual({ databaseUrl: URL, environment: "test", bindHost: "127.0.0.1", port: 18085 });
});

test("DATABASE_URL is required; empty counts as unset", () => {
  expect(() => readConfig({})).toThrow(new ConfigError("DATABASE_URL is not set"));
  expect(() => readConfig({ DATABASE_URL: "  " })).toThrow("DATABASE_URL is not set");
  expect(readConfig({ DATABASE_URL: URL, TYPESCRIPT_WORKER_PORT: "" }).port).toBe(8085);
});

test.each(["0", "65536", "http", "-1", "80a", "1e3", "8085.0"])("rejects port %p", (bad) => {
  expect(() => readConfig({ DATABASE_URL: URL, TYPESCRIPT_WORKER_PORT: bad })).toThrow(
    `TYPESCRIPT_WORKER_PORT=${JSON.stringify(bad)} is not a valid port (1-65535)`,
  );
});

test("VERSION matches package.json", () => {
  const pkg = JSON.parse(readFileSync(new globalThis.URL("../../package.json", import.meta.url), "utf8"));
  expect(VERSION).toBe(pkg.version);
});
