/** Where the native library is: TASKER_FFI_LIBRARY, else the workspace's debug build. */

import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { TaskerError } from "../core/types.ts";

/** This package's name in package.json (how the package root is recognized). */
export const PACKAGE_NAME = "@tasker/worker-typescript";

/** The library's file name on `platform`. */
export function libraryFileName(platform: string = process.platform): string {
  switch (platform) {
    case "darwin":
      return "libtasker_worker_ts.dylib";
    case "win32":
      return "tasker_worker_ts.dll";
    default:
      return "libtasker_worker_ts.so";
  }
}

/** The package root (the directory of this package's package.json), found upwards from `start`. */
export function packageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        const name: unknown = JSON.parse(readFileSync(manifest, "utf8")).name;
        if (name === PACKAGE_NAME) {
          return dir;
        }
      } catch {
        // not ours; keep looking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new TaskerError(`cannot find the ${PACKAGE_NAME} package root above ${start}`);
    }
    dir = parent;
  }
}

/** `<package>/../../target/debug/<library>`: where `cargo build -p tasker-worker-typescript` puts it. */
export function defaultLibraryPath(): string {
  return resolve(packageRoot(), "..", "..", "target", "debug", libraryFileName());
}

/**
 * The library to load: `TASKER_FFI_LIBRARY` (an absolute path; a relative
 * one is resolved against the working directory) when set and not empty,
 * else {@link defaultLibraryPath}.
 */
export function resolveLibraryPath(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const fromEnv = env.TASKER_FFI_LIBRARY?.trim();
  if (fromEnv) {
    return isAbsolute(fromEnv) ? fromEnv : resolve(fromEnv);
  }
  return defaultLibraryPath();
}

/** Throws a helpful error when `path` does not exist. */
export function requireLibrary(path: string): string {
  if (!existsSync(path)) {
    throw new TaskerError(
      `native library not found at ${path}: build it with \`cargo build -p tasker-worker-typescript\` or set TASKER_FFI_LIBRARY`,
    );
  }
  return path;
}
