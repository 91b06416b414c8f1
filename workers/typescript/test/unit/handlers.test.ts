import { describe, expect, test } from "bun:test";
import { fail, registry, reverse, sum } from "../../src/core/handlers.ts";
import { HandlerRegistry, UnknownHandlerError } from "../../src/core/registry.ts";

describe("sum", () => {
  test("adds arrays and {numbers}", () => {
    expect(sum([1, 2, 3])).toEqual({ sum: 6 });
    expect(sum({ numbers: [1, 2.5] })).toEqual({ sum: 3.5 });
    expect(sum({ numbers: [] })).toEqual({ sum: 0 });
    expect(sum([-4, 4])).toEqual({ sum: 0 });
  });

  test("integers stay integers in JSON", () => {
    expect(JSON.stringify(sum([1, 2]))).toBe('{"sum":3}');
    expect(Number.isInteger(sum({ numbers: [10, 20] }).sum)).toBe(true);
  });

  test("rejects bad input with the Rust worker's messages", () => {
    expect(() => sum([1, "2"])).toThrow('sum: element 1 is not a number: "2"');
    expect(() => sum({ nums: [1] })).toThrow('sum: expected {"numbers": [...]} or an array of numbers');
    expect(() => sum(5)).toThrow("expected");
    expect(() => sum(null)).toThrow("expected");
  });
});

describe("reverse", () => {
  test("reverses strings and {text} by characters", () => {
    expect(reverse("abc")).toEqual({ reversed: "cba" });
    expect(reverse({ text: "héllo" })).toEqual({ reversed: "olléh" });
    expect(reverse("")).toEqual({ reversed: "" });
    expect(reverse("a😀b")).toEqual({ reversed: "b😀a" });
  });

  test("rejects bad input", () => {
    expect(() => reverse({ text: 1 })).toThrow('reverse: expected {"text": "..."} or a string');
    expect(() => reverse(null)).toThrow("reverse: expected");
    expect(() => reverse(["abc"])).toThrow("reverse: expected");
  });
});

describe("fail", () => {
  test("uses the given message", () => {
    expect(() => fail({ message: "nope" })).toThrow("nope");
  });

  test("has a default message", () => {
    expect(() => fail(null)).toThrow("fail: this handler always fails");
    expect(() => fail({ message: 3 })).toThrow("fail: this handler always fails");
  });
});

describe("registry", () => {
  test("has every handler, sorted", async () => {
    const r = registry();
    expect(r.names()).toEqual(["fail", "reverse", "sum"]);
    expect(r.has("sum")).toBe(true);
    expect(await r.call("sum", [2, 2])).toEqual({ sum: 4 });
  });

  test("an unknown handler is named in the error", async () => {
    const error = await registry()
      .call("nope", null)
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(UnknownHandlerError);
    expect((error as Error).message).toBe('no handler registered for "nope" (known: fail, reverse, sum)');
  });

  test("register replaces and supports async handlers", async () => {
    const r = new HandlerRegistry().register("x", () => 1).register("x", async (input) => ({ got: input }));
    expect(r.names()).toEqual(["x"]);
    expect(await r.call("x", "in")).toEqual({ got: "in" });
  });
});
