import { expect, test } from "bun:test";
import { redactUrl } from "../../src/core/redact.ts";

// The same cases as tasker_shared::config::redact_url.
const cases: [string, string][] = [
  ["postgresql://tasker:tasker@127.0.0.1:5432/tasker_test", "postgresql://tasker:***@127.0.0.1:5432/tasker_test"],
  ["postgres://u:p%40ss@h/d", "postgres://u:***@h/d"],
  ["postgres://u:p@ss/w@rd@h:1/d", "postgres://u:***@h:1/d"],
  ["postgres://u:@h/d", "postgres://u:***@h/d"],
  ["postgres://user@h/d", "postgres://user@h/d"],
  ["postgres://h/d", "postgres://h/d"],
  ["postgres://h/d?sslmode=disable&password=x&user=u", "postgres://h/d?sslmode=disable&password=***&user=u"],
  ["postgres://u:a@h/d?password=b", "postgres://u:***@h/d?password=***"],
  ["host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"],
  ["host=h password='with space' dbname=d", "host=h password=*** dbname=d"],
  ["host=h PASSWORD=x", "host=h PASSWORD=***"],
  ["host=h mypassword=x", "host=h mypassword=x"],
  ["", ""],
];

test.each(cases)("redactUrl(%p)", (input, want) => {
  expect(redactUrl(input)).toBe(want);
});

test("never shows the password", () => {
  const shown = redactUrl("postgresql://tasker:hunter2@db/tasker");
  expect(shown).not.toContain("hunter2");
  expect(shown).toBe("postgresql://tasker:***@db/tasker");
});

test("non-ASCII text keeps its place", () => {
  expect(redactUrl("host=İ password=x")).toBe("host=İ password=***");
});
