/**
 * Loads the native library with the current runtime's FFI: bun:ffi under
 * Bun, Deno.dlopen under Deno, koffi under Node. The per-runtime module is
 * imported dynamically so no runtime sees another's imports.
 */

import { requireLibrary, resolveLibraryPath } from "./library.ts";
import { Native } from "./native.ts";
import type { RawLibrary, Runtime } from "./raw.ts";

/** The JavaScript runtime executing this code. */
export function detectRuntime(): Runtime {
  if ("Bun" in globalThis) {
    return "bun";
  }
  if ("Deno" in globalThis) {
    return "deno";
  }
  return "node";
}

export interface LoadOptions {
  /** The library file (default: {@link resolveLibraryPath}). */
  readonly path?: string;
  /** The FFI to use (default: {@link detectRuntime}). */
  readonly runtime?: Runtime;
}

interface RuntimeModule {
  open(path: string): RawLibrary;
}

const cache = new Map<string, Native>();

/**
 * Loads (once per runtime and path) and returns the library. Sources run
 * as .ts (Bun, Deno) and compiled as .js (Node); the specifier follows this
 * module's own extension.
 */
export async function loadNative(options: LoadOptions = {}): Promise<Native> {
  const runtime = options.runtime ?? detectRuntime();
  const path = requireLibrary(options.path ?? resolveLibraryPath());
  const key = `${runtime}:${path}`;
  const cached = cache.get(key);
  if (cached !== undefined) {
    return cached;
  }
  const extension = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const specifier = `./${runtime}.${extension}`;
  const mod = (await import(specifier)) as RuntimeModule;
  const native = new Native(mod.open(path));
  cache.set(key, native);
  return native;
}
