/** The TypeScript worker's step handlers: the same contract as the Rust worker's. */

import { HandlerRegistry } from "./registry.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const SUM_SHAPE = 'sum: expected {"numbers": [...]} or an array of numbers';
const REVERSE_SHAPE = 'reverse: expected {"text": "..."} or a string';

/**
 * Adds numbers: input `[1, 2]` or `{"numbers": [1, 2]}`, output `{"sum": 3}`.
 * Integers stay integers (JSON has one number type; `3` serializes as `3`).
 */
export function sum(input: unknown): { sum: number } {
  let numbers: unknown;
  if (Array.isArray(input)) {
    numbers = input;
  } else if (isRecord(input)) {
    numbers = input.numbers;
  }
  if (!Array.isArray(numbers)) {
    throw new Error(SUM_SHAPE);
  }
  let total = 0;
  numbers.forEach((n: unknown, i) => {
    if (typeof n !== "number" || !Number.isFinite(n)) {
      throw new Error(`sum: element ${i} is not a number: ${JSON.stringify(n)}`);
    }
    total += n;
  });
  return { sum: total };
}

/** Reverses a string by characters (code points): input `"abc"` or `{"text": "abc"}`, output `{"reversed": "cba"}`. */
export function reverse(input: unknown): { reversed: string } {
  let text: unknown = input;
  if (isRecord(input)) {
    text = input.text;
  }
  if (typeof text !== "string") {
    throw new Error(REVERSE_SHAPE);
  }
  return { reversed: [...text].reverse().join("") };
}

/** Always fails, with `{"message": "..."}` as the error if given. */
export function fail(input: unknown): never {
  if (isRecord(input) && typeof input.message === "string") {
    throw new Error(input.message);
  }
  throw new Error("fail: this handler always fails");
}

/** Every handler this worker serves: `sum`, `reverse` and `fail`. */
export function registry(): HandlerRegistry {
  return new HandlerRegistry().register("sum", sum).register("reverse", reverse).register("fail", fail);
}
