/** The worker process's settings, read from the environment like `tasker_shared::config`. */

/** The namespace this worker serves. */
export const NAMESPACE = "typescript";
/** The service name reported by `/health`. */
export const SERVICE = "typescript-worker";
/** The package version (kept equal to package.json's by a unit test). */
export const VERSION = "0.1.0";
/** Default `TYPESCRIPT_WORKER_PORT`. */
export const DEFAULT_PORT = 8085;
/** Default `TASKER_BIND_HOST`. */
export const DEFAULT_BIND_HOST = "0.0.0.0";
/** Default `TASKER_ENV`. */
export const DEFAULT_ENVIRONMENT = "development";

/** A configuration problem (the process exits 2). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export interface WorkerConfig {
  readonly databaseUrl: string;
  readonly environment: string;
  readonly bindHost: string;
  readonly port: number;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads DATABASE_URL (required), TASKER_ENV, TASKER_BIND_HOST and
 * TYPESCRIPT_WORKER_PORT. Empty values count as unset.
 */
export function readConfig(env: Env): WorkerConfig {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const databaseUrl = get("DATABASE_URL");
  if (databaseUrl === undefined) {
    throw new ConfigError("DATABASE_URL is not set");
  }
  return {
    databaseUrl,
    environment: get("TASKER_ENV") ?? DEFAULT_ENVIRONMENT,
    bindHost: get("TASKER_BIND_HOST") ?? DEFAULT_BIND_HOST,
    port: parsePort("TYPESCRIPT_WORKER_PORT", get("TYPESCRIPT_WORKER_PORT"), DEFAULT_PORT),
  };
}

function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  const trimmed = value.trim();
  const port = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || port < 1 || port > 65535) {
    throw new ConfigError(`${name}=${JSON.stringify(value)} is not a valid port (1-65535)`);
  }
  return port;
}
