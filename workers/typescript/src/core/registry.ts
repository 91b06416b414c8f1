/** Named step handlers. */

/** A step handler: takes the step input, returns (or resolves to) a JSON-serializable result; throws to fail. */
export type Handler = (input: unknown) => unknown;

/** Thrown by {@link HandlerRegistry.call} for a name nothing is registered under. */
export class UnknownHandlerError extends Error {
  override readonly name = "UnknownHandlerError";
}

/** Handlers by name. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, Handler>();

  /** Registers (or replaces) the handler called `name`. */
  register(name: string, handler: Handler): this {
    this.#handlers.set(name, handler);
    return this;
  }

  /** True if `name` is registered. */
  has(name: string): boolean {
    return this.#handlers.has(name);
  }

  /** The registered names, sorted. */
  names(): string[] {
    return [...this.#handlers.keys()].sort();
  }

  /**
   * Runs the handler called `name` on `input`. An unknown name rejects with
   * {@link UnknownHandlerError} naming it; a handler's exception propagates.
   */
  async call(name: string, input: unknown): Promise<unknown> {
    const handler = this.#handlers.get(name);
    if (handler === undefined) {
      throw new UnknownHandlerError(
        `no handler registered for ${JSON.stringify(name)} (known: ${this.names().join(", ")})`,
      );
    }
    return await handler(input);
  }
}
