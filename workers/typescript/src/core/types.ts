/** Shared types of the runtime-neutral core. */

/** A step claimed from the namespace queue (the bridge's step JSON, camelCased). */
export interface Step {
  readonly msgId: number;
  readonly stepId: number;
  readonly taskId: number;
  readonly namespace: string;
  readonly handler: string;
  readonly input: unknown;
  readonly attempt: number;
  /** The step JSON exactly as the library returned it; handed back verbatim on complete/fail. */
  readonly raw: string;
}

/** A task as `settle` returns it (integration tests). */
export interface Task {
  readonly id: number;
  readonly namespace: string;
  readonly handler: string;
  readonly status: string;
  readonly result: unknown;
  readonly error: string | null;
}

/** An error reported by the Rust library; `message` is the Rust error text. */
export class TaskerError extends Error {
  override readonly name = "TaskerError";
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  return String(error);
}
