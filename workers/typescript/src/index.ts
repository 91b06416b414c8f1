/** The TypeScript worker: a runtime-neutral core over the tasker C ABI. */

export * from "./core/config.ts";
export * as handlers from "./core/handlers.ts";
export { registry } from "./core/handlers.ts";
export { redactUrl } from "./core/redact.ts";
export { type Handler, HandlerRegistry, UnknownHandlerError } from "./core/registry.ts";
export { errorMessage, type Step, type Task, TaskerError } from "./core/types.ts";
export * from "./core/worker.ts";
export { defaultLibraryPath, libraryFileName, resolveLibraryPath } from "./ffi/library.ts";
export { detectRuntime, type LoadOptions, loadNative } from "./ffi/loader.ts";
export { type HealthOptions, HealthServer, Native, parseStep, Session } from "./ffi/native.ts";
export type { RawLibrary, Runtime } from "./ffi/raw.ts";
