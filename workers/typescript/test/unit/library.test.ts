import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  defaultLibraryPath,
  libraryFileName,
  PACKAGE_NAME,
  packageRoot,
  requireLibrary,
  resolveLibraryPath,
} from "../../src/ffi/library.ts";
import { detectRuntime } from "../../src/ffi/loader.ts";

const ROOT = resolve(import.meta.dir, "..", "..");

test("library file name per platform", () => {
  expect(libraryFileName("linux")).toBe("libtasker_worker_ts.so");
  expect(libraryFileName("darwin")).toBe("libtasker_worker_ts.dylib");
  expect(libraryFileName("win32")).toBe("tasker_worker_ts.dll");
});

test("the package root is found upwards", () => {
  expect(packageRoot()).toBe(ROOT);
  expect(packageRoot(join(ROOT, "src", "ffi"))).toBe(ROOT);
  expect(existsSync(join(packageRoot(), "package.json"))).toBe(true);
  expect(() => packageRoot("/")).toThrow(`cannot find the ${PACKAGE_NAME} package root`);
});

test("default path is the workspace debug build", () => {
  expect(defaultLibraryPath()).toBe(resolve(ROOT, "../../target/debug", libraryFileName()));
  expect(resolveLibraryPath({})).toBe(defaultLibraryPath());
  expect(resolveLibraryPath({ TASKER_FFI_LIBRARY: "  " })).toBe(defaultLibraryPath());
});

test("TASKER_FFI_LIBRARY overrides", () => {
  expect(resolveLibraryPath({ TASKER_FFI_LIBRARY: "/opt/lib/x.so" })).toBe("/opt/lib/x.so");
  expect(resolveLibraryPath({ TASKER_FFI_LIBRARY: "rel/x.so" })).toBe(resolve("rel/x.so"));
});

test("a missing library is reported with how to build it", () => {
  expect(() => requireLibrary("/nonexistent/libtasker_worker_ts.so")).toThrow(
    "native library not found at /nonexistent/libtasker_worker_ts.so: build it with `cargo build -p tasker-worker-typescript`",
  );
});

test("runtime detection", () => {
  expect(detectRuntime()).toBe("bun");
});
