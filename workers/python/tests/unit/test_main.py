"""`python -m tasker_worker_py` configuration errors (no native code needed)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

WorkerEnv = Callable[..., dict[str, str]]


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tasker_worker_py"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_missing_database_url_exits_2(worker_env: WorkerEnv) -> None:
    done = run(worker_env())
    assert done.returncode == 2
    assert done.stderr == "tasker-worker-python: DATABASE_URL is not set\n"


def test_invalid_port_exits_2(worker_env: WorkerEnv) -> None:
    done = run(worker_env(DATABASE_URL="postgresql://x@h/d", PYTHON_WORKER_PORT="http"))
    assert done.returncode == 2
    assert "PYTHON_WORKER_PORT" in done.stderr
    assert "is not a valid port" in done.stderr
