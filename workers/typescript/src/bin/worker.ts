/**
 * `tasker-worker-typescript`: the TypeScript worker for the `typescript`
 * namespace (run with `bun src/bin/worker.ts`; also `node dist/src/bin/worker.js`
 * or `deno run -A src/bin/worker.ts`).
 *
 * Reads DATABASE_URL, TYPESCRIPT_WORKER_PORT (default 8085) and
 * TASKER_BIND_HOST (default 0.0.0.0). Serves `GET /health` and processes
 * `typescript_queue`, reconnecting with backoff when the database goes
 * away. Exits 2 on a configuration error and 1 when the native library
 * cannot be loaded or the port cannot be bound. SIGINT/SIGTERM stop it
 * gracefully (the step in hand is finished first, exit 0); a second signal
 * exits at once (128 + signal number).
 */

import process from "node:process";
import { ConfigError, NAMESPACE, readConfig, SERVICE, VERSION } from "../core/config.ts";
import { registry } from "../core/handlers.ts";
import { redactUrl } from "../core/redact.ts";
import { errorMessage } from "../core/types.ts";
import { Worker } from "../core/worker.ts";
import { loadNative } from "../ffi/loader.ts";
import type { HealthServer, Native } from "../ffi/native.ts";

const NAME = "tasker-worker-typescript";
const SIGNALS = { SIGINT: 2, SIGTERM: 15 } as const;

function fatal(message: string, code: number): never {
  console.error(`${NAME}: ${message}`);
  process.exit(code);
}

async function main(): Promise<number> {
  let config: ReturnType<typeof readConfig>;
  try {
    config = readConfig(process.env);
  } catch (e) {
    fatal(errorMessage(e), e instanceof ConfigError ? 2 : 1);
  }

  let native: Native;
  try {
    native = await loadNative();
  } catch (e) {
    fatal(`cannot load the native library: ${errorMessage(e)}`, 1);
  }

  let health: HealthServer;
  try {
    health = native.serveHealth({
      host: config.bindHost,
      port: config.port,
      databaseUrl: config.databaseUrl,
      service: SERVICE,
      version: VERSION,
    });
  } catch (e) {
    fatal(errorMessage(e), 1);
  }

  const stop = new AbortController();
  const onSignal = (signal: keyof typeof SIGNALS): void => {
    if (stop.signal.aborted) {
      process.exit(128 + SIGNALS[signal]);
    }
    console.error(`${NAME}: ${signal}: stopping after the step in hand`);
    stop.abort();
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));

  console.error(
    `${NAME} ${VERSION} (${native.runtime}): health on http://${health.address}/health, namespace ${NAMESPACE} (env ${config.environment}, database ${redactUrl(config.databaseUrl)})`,
  );

  const worker = new Worker({
    connect: () => native.connect(config.databaseUrl, NAMESPACE),
    registry: registry(),
    name: NAME,
  });
  await worker.run(stop.signal);
  health.shutdown();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => fatal(`unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`, 1),
);
