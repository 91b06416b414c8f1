"""Real round trips through PostgreSQL: submit a task, let the Python worker
process its step with the Python handlers, settle it, check the task.

Each test uses its own namespace (python_it_<pid>_<n>), so neither a running
python worker nor other tests take its steps.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tasker_worker_py.errors import HandlerError, TaskerError
from tasker_worker_py.handlers import default_registry
from tasker_worker_py.registry import JSON, HandlerRegistry
from tasker_worker_py.worker import RunStats, Worker

pytestmark = pytest.mark.integration

NewNamespace = Callable[[], str]
SETTLE_MS = 20_000
WAIT_MS = 10_000


def submit(native: ModuleType, url: str, namespace: str, handler: str, value: JSON) -> int:
    task_id: int = native.testing.submit(url, namespace, handler, json.dumps(value))
    return task_id


def settle(native: ModuleType, url: str, task_id: int) -> dict[str, Any]:
    task: dict[str, Any] = json.loads(native.testing.settle(url, task_id, SETTLE_MS))
    return task


def process(
    native: ModuleType,
    url: str,
    namespace: str,
    handler: str,
    value: JSON,
    registry: HandlerRegistry | None = None,
) -> dict[str, Any]:
    """Submits one task, processes its step with a Worker, settles it."""
    task_id = submit(native, url, namespace, handler, value)
    with Worker(url, namespace, registry or default_registry()) as worker:
        outcome = worker.run_once(wait_ms=WAIT_MS)
        assert outcome is not None, "the step arrived"
        assert outcome.recorded
        assert outcome.step.task_id == task_id
        assert outcome.step.namespace == namespace
        assert outcome.step.handler == handler
        assert outcome.step.input == value
        assert outcome.step.attempt == 1
    task = settle(native, url, task_id)
    assert task["id"] == task_id
    assert task["namespace"] == namespace
    assert task["handler"] == handler
    return task


@pytest.mark.parametrize(
    ("handler", "value", "result"),
    [
        ("sum", [1, 2], {"sum": 3}),
        ("sum", {"numbers": [1, 2.5]}, {"sum": 3.5}),
        ("reverse", "abc", {"reversed": "cba"}),
        ("reverse", {"text": "héllo"}, {"reversed": "olléh"}),
    ],
)
def test_handlers_complete_tasks(
    native: ModuleType,
    database_url: str,
    namespace: NewNamespace,
    handler: str,
    value: JSON,
    result: JSON,
) -> None:
    task = process(native, database_url, namespace(), handler, value)
    assert task["status"] == "complete"
    assert task["result"] == result
    assert task["error"] is None
    if handler == "sum" and value == [1, 2]:
        assert isinstance(task["result"]["sum"], int)


@pytest.mark.parametrize(
    ("handler", "value", "error"),
    [
        ("fail", {"message": "boom from python"}, "boom from python"),
        ("fail", None, "fail: this handler always fails"),
        ("sum", [1, "x"], 'sum: element 1 is not a number: "x"'),
        ("nope", 1, 'no handler registered for "nope" (known: fail, reverse, sum)'),
    ],
)
def test_failures_become_task_errors(
    native: ModuleType,
    database_url: str,
    namespace: NewNamespace,
    handler: str,
    value: JSON,
    error: str,
) -> None:
    task = process(native, database_url, namespace(), handler, value)
    assert task["status"] == "error"
    assert task["error"] == error
    assert task["result"] is None


def test_a_raising_handler_fails_its_task(
    native: ModuleType, database_url: str, namespace: NewNamespace
) -> None:
    registry = default_registry()

    @registry.handler("divide")
    def divide(value: JSON) -> JSON:
        if not isinstance(value, dict):
            raise HandlerError("divide: expected an object")
        a, b = value["a"], value["b"]
        assert isinstance(a, int)
        assert isinstance(b, int)
        return a // b

    ns = namespace()
    ok = process(native, database_url, ns, "divide", {"a": 7, "b": 2}, registry)
    assert (ok["status"], ok["result"]) == ("complete", 3)
    bad = process(native, database_url, ns, "divide", {"a": 1, "b": 0}, registry)
    assert bad["status"] == "error"
    assert (
        bad["error"]
        == 'handler "divide" raised ZeroDivisionError: integer division or modulo by zero'
    )


def test_run_loop_processes_until_stopped(
    native: ModuleType, database_url: str, namespace: NewNamespace
) -> None:
    ns = namespace()
    ids = [
        submit(native, database_url, ns, "sum", [20, 22]),
        submit(native, database_url, ns, "reverse", "xy"),
        submit(native, database_url, ns, "fail", {"message": "no"}),
    ]
    stop = threading.Event()
    logs: list[str] = []
    worker = Worker(database_url, ns, default_registry(), poll_interval_ms=100, log=logs.append)
    stats: list[RunStats] = []
    thread = threading.Thread(target=lambda: stats.append(worker.run(stop)))
    thread.start()
    try:
        tasks = [settle(native, database_url, i) for i in ids]
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert [(t["status"], t["result"], t["error"]) for t in tasks] == [
        ("complete", {"sum": 42}, None),
        ("complete", {"reversed": "yx"}, None),
        ("error", None, "no"),
    ]
    assert stats == [RunStats(completed=2, failed=1)]
    assert logs[0].endswith(f"serving {ns}_queue with handlers fail, reverse, sum")


def test_session_api(native: ModuleType, database_url: str, namespace: NewNamespace) -> None:
    ns = namespace()
    session = native.Session(database_url, ns)
    try:
        assert session.queue_name == f"{ns}_queue"
        assert session.worker_id.startswith(f"{ns}-")
        assert session.claim(30_000) is None
        assert session.wait_for_work(50) is False
        task_id = submit(native, database_url, ns, "sum", [1])
        assert session.wait_for_work(WAIT_MS) is True  # NOTIFY on send
        raw = session.claim(30_000)
        assert raw is not None
        step = json.loads(raw)
        assert set(step) == {
            "msg_id",
            "step_id",
            "task_id",
            "namespace",
            "handler",
            "input",
            "attempt",
        }
        assert (step["task_id"], step["handler"], step["input"]) == (task_id, "sum", [1])

        # step JSON errors come back as TaskerError with the Rust message
        with pytest.raises(TaskerError, match=r"^step is not JSON"):
            session.complete("nope", "1")
        with pytest.raises(TaskerError, match=r"missing field msg_id \(an integer\)"):
            session.fail("{}", "x")
        with pytest.raises(TaskerError, match=r"^invalid JSON"):
            session.complete(raw, "{not json")

        session.complete(raw, '{"sum": 1}')
        # the claim is used up: recording again is a stale claim
        with pytest.raises(TaskerError, match="is no longer claimed by this worker"):
            session.fail(raw, "again")
        task = settle(native, database_url, task_id)
        assert (task["status"], task["result"]) == ("complete", {"sum": 1})
    finally:
        session.close()
    assert session.closed
    with pytest.raises(TaskerError, match="session is closed"):
        session.claim(1)
    session.close()  # idempotent


def test_wait_for_work_releases_the_gil(
    native: ModuleType, database_url: str, namespace: NewNamespace
) -> None:
    session = native.Session(database_url, namespace())
    try:
        done = threading.Event()

        def wait() -> None:
            session.wait_for_work(1_500)
            done.set()

        thread = threading.Thread(target=wait)
        start = time.monotonic()
        thread.start()
        count = 0
        while not done.is_set() and time.monotonic() - start < 1.0:
            count += 1  # only runs if the waiting thread let go of the GIL
        assert not done.is_set()
        assert count > 10_000
        thread.join(10)
        assert done.is_set()
    finally:
        session.close()


def test_health_is_200_with_the_database(native: ModuleType, database_url: str) -> None:
    import urllib.request

    server = native.serve_health("127.0.0.1", 0, database_url, "python-worker", "0.1.0")
    try:
        with urllib.request.urlopen(f"http://{server.address}/health", timeout=10) as r:
            assert r.status == 200
            body = json.loads(r.read())
        assert body == {
            "status": "healthy",
            "service": "python-worker",
            "version": "0.1.0",
            "checks": {"database": {"status": "healthy"}},
        }
    finally:
        server.shutdown()
