"""``python -m tasker_worker_py``: the Python worker for the ``python`` namespace.

Reads DATABASE_URL, PYTHON_WORKER_PORT (default 8083) and TASKER_BIND_HOST
(default 0.0.0.0). Serves ``GET /health`` and processes ``python_queue``,
reconnecting with backoff when the database goes away. Exits 2 on a
configuration error and 1 when the port cannot be bound. SIGINT/SIGTERM
stop it gracefully (the step in hand is finished first, exit 0); a second
signal exits at once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from tasker_worker_py import signals
from tasker_worker_py.config import Config, ConfigError
from tasker_worker_py.errors import TaskerError
from tasker_worker_py.handlers import default_registry
from tasker_worker_py.worker import Worker

PROG = "tasker-worker-python"
NAMESPACE = "python"
SERVICE = "python-worker"


def _log(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


def main(env: Mapping[str, str] | None = None) -> int:
    """Runs the worker process; returns the exit status."""
    stop = signals.install()
    try:
        config = Config.from_env(os.environ if env is None else env)
    except ConfigError as e:
        _log(str(e))
        return 2

    from tasker_worker_py import _native  # only now: config errors need no build

    version = _native.VERSION
    try:
        health = _native.serve_health(
            config.bind_host, config.port, config.database_url, SERVICE, version
        )
    except TaskerError as e:
        _log(str(e))
        return 1
    print(
        f"{PROG} {version}: health on http://{health.address}/health, namespace {NAMESPACE} "
        f"(env {config.environment}, database {config.redacted_database_url})",
        file=sys.stderr,
        flush=True,
    )
    try:
        with Worker(config.database_url, NAMESPACE, default_registry(), log=_log) as worker:
            stats = worker.run(stop)
        _log(f"stopping after {stats}")
    finally:
        health.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
