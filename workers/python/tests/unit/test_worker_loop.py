"""The worker loop against an in-memory stand-in for the native Session.

The stand-in replaces the Rust bridge (not the database): the loop's
decisions (which handler, complete vs fail, stale claims, reconnects and
backoff) are pure Python and are checked here; the real round trip is in
tests/integration.
"""

from __future__ import annotations

import json
from collections import deque

import pytest

from tasker_worker_py.errors import TaskerError
from tasker_worker_py.handlers import default_registry
from tasker_worker_py.registry import JSON, HandlerRegistry
from tasker_worker_py.worker import RunStats, Step, Worker

URL = "postgresql://tasker:s3cret@db/tasker"
STALE = "step 7 is no longer claimed by this worker (visibility timeout passed or already finished)"


def step_json(step_id: int, handler: str, value: JSON) -> str:
    return json.dumps(
        {
            "msg_id": step_id * 10,
            "step_id": step_id,
            "task_id": step_id * 100,
            "namespace": "python",
            "handler": handler,
            "input": value,
            "attempt": 1,
        }
    )


class FakeSession:
    """Records what the worker asked for; ``script`` errors are raised by
    the matching call (name -> message)."""

    def __init__(self, steps: list[str], errors: dict[str, str] | None = None) -> None:
        self.queue = deque(steps)
        self.errors = dict(errors or {})
        self.completed: list[tuple[str, JSON]] = []
        self.failed: list[tuple[str, str]] = []
        self.waits: list[int] = []
        self.on_wait: list[str] = []
        self.closed = False
        self.worker_id = "python-1-1"
        self.queue_name = "python_queue"
        self.on_empty_wait: StopAfter | None = None

    def _maybe_raise(self, call: str) -> None:
        if call in self.errors:
            raise TaskerError(self.errors.pop(call))

    def claim(self, visibility_timeout_ms: int) -> str | None:
        assert visibility_timeout_ms == 30_000
        self._maybe_raise("claim")
        return self.queue.popleft() if self.queue else None

    def complete(self, step_json: str, result_json: str) -> None:
        self._maybe_raise("complete")
        self.completed.append((json.loads(step_json)["handler"], json.loads(result_json)))

    def fail(self, step_json: str, message: str) -> None:
        self._maybe_raise("fail")
        self.failed.append((json.loads(step_json)["handler"], message))

    def wait_for_work(self, timeout_ms: int) -> bool:
        self.waits.append(timeout_ms)
        self._maybe_raise("wait_for_work")
        if self.on_wait:
            self.queue.append(self.on_wait.pop(0))
            return True
        if self.on_empty_wait is not None:
            self.on_empty_wait.set()
        return False

    def close(self) -> None:
        self.closed = True


class StopAfter:
    """A stop signal that records backoff waits instead of sleeping."""

    def __init__(self) -> None:
        self.stopped = False
        self.waited: list[float] = []

    def set(self) -> None:
        self.stopped = True

    def is_set(self) -> bool:
        return self.stopped

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waited.append(timeout)
        return self.stopped


class Connector:
    """Hands out sessions, or raises TaskerError for each message in ``fail_with``."""

    def __init__(self, sessions: list[FakeSession], fail_with: list[str] | None = None) -> None:
        self.sessions = deque(sessions)
        self.fail_with = deque(fail_with or [])
        self.calls: list[tuple[str, str]] = []

    def __call__(self, database_url: str, namespace: str) -> FakeSession:
        self.calls.append((database_url, namespace))
        if self.fail_with:
            raise TaskerError(self.fail_with.popleft())
        return self.sessions.popleft()


def make_worker(
    connect: Connector, registry: HandlerRegistry | None = None
) -> tuple[Worker, list[str]]:
    logs: list[str] = []
    worker = Worker(
        URL,
        "python",
        default_registry() if registry is None else registry,
        connect=connect,
        log=logs.append,
    )
    return worker, logs


def test_process_one_completes_and_fails_steps() -> None:
    session = FakeSession(
        [
            step_json(1, "sum", [1, 2]),
            step_json(2, "reverse", {"text": "abc"}),
            step_json(3, "fail", {"message": "nope"}),
            step_json(4, "missing", None),
        ]
    )
    worker, _ = make_worker(Connector([session]))
    outcomes = [worker.process_one() for _ in range(5)]
    assert outcomes[4] is None
    first = outcomes[0]
    assert first is not None
    assert first.ok
    assert first.recorded
    assert first.step.step_id == 1
    assert first.result.result == {"sum": 3}
    assert session.completed == [("sum", {"sum": 3}), ("reverse", {"reversed": "cba"})]
    assert session.failed == [
        ("fail", "nope"),
        ("missing", 'no handler registered for "missing" (known: fail, reverse, sum)'),
    ]
    worker.close()
    assert session.closed


def test_a_handler_exception_fails_the_step() -> None:
    registry = HandlerRegistry()

    @registry.handler("explode")
    def explode(value: JSON) -> JSON:
        raise ZeroDivisionError("division by zero")

    session = FakeSession([step_json(1, "explode", 1)])
    worker, _ = make_worker(Connector([session]), registry)
    outcome = worker.process_one()
    assert outcome is not None
    assert not outcome.ok
    assert outcome.error == 'handler "explode" raised ZeroDivisionError: division by zero'
    assert session.failed == [("explode", outcome.error)]


def test_a_stale_claim_is_logged_and_skipped() -> None:
    session = FakeSession([step_json(7, "sum", [1])], errors={"complete": STALE})
    worker, logs = make_worker(Connector([session]))
    outcome = worker.process_one()
    assert outcome is not None
    assert outcome.ok
    assert not outcome.recorded
    assert logs == [f"python-1-1: {STALE}"]
    stats = RunStats()
    stats.record(outcome)
    assert stats == RunStats(stale=1)


def test_other_core_errors_propagate() -> None:
    session = FakeSession([step_json(1, "fail", None)], errors={"fail": "connection closed"})
    worker, _ = make_worker(Connector([session]))
    with pytest.raises(TaskerError, match="connection closed"):
        worker.process_one()


def test_run_once_waits_for_work() -> None:
    session = FakeSession([])
    session.on_wait = [step_json(1, "sum", [5, 5])]
    worker, _ = make_worker(Connector([session]))
    outcome = worker.run_once(wait_ms=5_000)
    assert outcome is not None
    assert outcome.result.result == {"sum": 10}
    assert len(session.waits) == 1
    assert 0 < session.waits[0] <= 5_000


def test_run_once_gives_up_after_the_wait() -> None:
    session = FakeSession([])
    worker, _ = make_worker(Connector([session]))
    assert worker.run_once(wait_ms=50) is None
    assert session.waits
    assert all(0 < w <= 50 for w in session.waits)


def test_run_processes_until_stopped() -> None:
    stop = StopAfter()
    session = FakeSession([step_json(1, "sum", [1, 2]), step_json(2, "fail", None)])
    session.on_empty_wait = stop
    worker, logs = make_worker(Connector([session]))
    stats = worker.run(stop)
    assert stats == RunStats(completed=1, failed=1)
    assert session.waits == [1_000]
    assert session.closed
    assert logs == ["python-1-1 serving python_queue with handlers fail, reverse, sum"]
    assert stop.waited == []


def test_run_reconnects_with_backoff_and_logs_each_error_once() -> None:
    stop = StopAfter()
    broken = FakeSession([step_json(1, "sum", [1])], errors={"wait_for_work": "connection lost"})
    healthy = FakeSession([step_json(2, "reverse", "ab")])
    healthy.on_empty_wait = stop
    refused = "error connecting to server: Connection refused"
    connector = Connector([broken, healthy], fail_with=[refused, refused, refused, "timeout"])
    worker, logs = make_worker(connector)
    stats = worker.run(stop)

    assert stats == RunStats(completed=2)
    assert connector.calls == [(URL, "python")] * 6
    # 0.25 s doubling, reset after a successful connect
    assert stop.waited == [0.25, 0.5, 1.0, 2.0, 0.25]
    assert broken.closed
    assert healthy.closed
    assert logs == [
        f"{refused} (retrying)",
        "timeout (retrying)",
        "python-1-1 serving python_queue with handlers fail, reverse, sum",
        "connection lost (retrying)",
        "python-1-1 serving python_queue with handlers fail, reverse, sum",
    ]


def test_backoff_is_capped() -> None:
    stop = StopAfter()
    calls: list[str] = []

    def connect(database_url: str, namespace: str) -> FakeSession:
        calls.append(namespace)
        if len(calls) == 9:
            stop.set()
        raise TaskerError("down")

    logs: list[str] = []
    worker = Worker(URL, "python", default_registry(), connect=connect, log=logs.append)
    assert worker.run(stop) == RunStats()
    assert stop.waited == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]
    assert logs == ["down (retrying)"]


def test_run_returns_at_once_when_already_stopped() -> None:
    stop = StopAfter()
    stop.set()
    connector = Connector([])
    worker, logs = make_worker(connector)
    assert worker.run(stop) == RunStats()
    assert connector.calls == []
    assert logs == []


def test_step_from_json() -> None:
    raw = step_json(3, "sum", {"numbers": [1]})
    step = Step.from_json(raw)
    assert (step.msg_id, step.step_id, step.task_id, step.attempt) == (30, 3, 300, 1)
    assert (step.namespace, step.handler, step.input, step.raw) == (
        "python",
        "sum",
        {"numbers": [1]},
        raw,
    )
    with pytest.raises(ValueError, match=r"missing field step_id \(an integer\)"):
        Step.from_json('{"msg_id": 1, "step_id": "x"}')
    with pytest.raises(ValueError, match=r"missing field handler \(a string\)"):
        Step.from_json(
            '{"msg_id":1,"step_id":2,"task_id":3,"namespace":"p","handler":true,"attempt":1}'
        )
    with pytest.raises(ValueError, match="not a JSON object"):
        Step.from_json("[]")
