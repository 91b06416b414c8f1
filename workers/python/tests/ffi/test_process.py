"""`python -m tasker_worker_py` as a process (no database: it retries)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.ffi

WorkerEnv = Callable[..., dict[str, str]]


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tasker_worker_py"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_health(port: int, proc: subprocess.Popen[str]) -> tuple[int, dict[str, object]]:
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())
        except urllib.error.URLError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_busy_port_exits_1(worker_env: WorkerEnv, down_url: str, busy_port: int) -> None:
    env = worker_env(
        DATABASE_URL=down_url, TASKER_BIND_HOST="127.0.0.1", PYTHON_WORKER_PORT=str(busy_port)
    )
    done = subprocess.run(
        [sys.executable, "-m", "tasker_worker_py"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{busy_port}" in done.stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_health_retries_and_stops_gracefully(
    worker_env: WorkerEnv, down_url: str, free_port: int, signum: int
) -> None:
    env = worker_env(
        DATABASE_URL=down_url,
        TASKER_BIND_HOST="127.0.0.1",
        PYTHON_WORKER_PORT=str(free_port),
        TASKER_ENV="test",
    )
    proc = start(env)
    try:
        status, body = wait_for_health(free_port, proc)
        assert status == 503
        assert body["service"] == "python-worker"
        assert body["status"] == "unhealthy"
        time.sleep(0.5)  # let it fail to connect at least once
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr
    lines = stderr.splitlines()
    assert lines[0] == (
        f"tasker-worker-python 0.1.0: health on http://127.0.0.1:{free_port}/health, "
        "namespace python (env test, database postgresql://tasker:***@127.0.0.1:1/none)"
    )
    retrying = [line for line in lines if line.endswith("(retrying)")]
    assert len(retrying) == 1, stderr  # the same error is logged once
    assert "Connection refused" in retrying[0]
    assert (
        lines[-1] == "tasker-worker-python: stopping after RunStats(completed=0, failed=0, stale=0)"
    )
    assert "s3cret" not in stderr
