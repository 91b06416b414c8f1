"""The worker loop: claim a step, run its Python handler, record the outcome.

The database work happens in Rust (``tasker_worker_py._native.Session``);
this module only decides what to run and what to record, so it can be
driven step by step (:meth:`Worker.process_one`, :meth:`Worker.run_once`)
or as a long-running loop with reconnects (:meth:`Worker.run`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from tasker_worker_py.errors import TaskerError
from tasker_worker_py.registry import JSON, HandlerRegistry, HandlerResult

__all__ = [
    "DEFAULT_POLL_INTERVAL_MS",
    "DEFAULT_VISIBILITY_TIMEOUT_MS",
    "INITIAL_BACKOFF_S",
    "MAX_BACKOFF_S",
    "STALE_CLAIM_MARKER",
    "Connect",
    "Outcome",
    "RunStats",
    "Session",
    "Step",
    "Stop",
    "Worker",
    "native_connect",
]

DEFAULT_VISIBILITY_TIMEOUT_MS = 30_000
"""How long a claimed step stays hidden from other workers."""
DEFAULT_POLL_INTERVAL_MS = 1_000
"""The longest wait for a NOTIFY between polls (also the stop latency)."""
INITIAL_BACKOFF_S = 0.25
"""The first reconnect delay; it doubles up to :data:`MAX_BACKOFF_S`."""
MAX_BACKOFF_S = 10.0
STALE_CLAIM_MARKER = "is no longer claimed by this worker"
"""Part of the core's error when a step's claim went stale before the
outcome was recorded (visibility timeout passed, or already finished)."""


class Session(Protocol):
    """What the loop needs from a connection (``_native.Session``)."""

    @property
    def worker_id(self) -> str: ...

    @property
    def queue_name(self) -> str: ...

    def claim(self, visibility_timeout_ms: int) -> str | None: ...

    def complete(self, step_json: str, result_json: str) -> None: ...

    def fail(self, step_json: str, message: str) -> None: ...

    def wait_for_work(self, timeout_ms: int) -> bool: ...

    def close(self) -> None: ...


Connect = Callable[[str, str], Session]
"""Opens a :class:`Session` for ``(database_url, namespace)``."""


class Stop(Protocol):
    """A stop signal: ``threading.Event`` or :class:`tasker_worker_py.signals.StopFlag`."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def native_connect(database_url: str, namespace: str) -> Session:
    """Connects through the Rust core (loads the native extension)."""
    from tasker_worker_py import _native

    return _native.Session(database_url, namespace)


@dataclass(frozen=True)
class Step:
    """A claimed step, decoded from the core's step JSON."""

    msg_id: int
    step_id: int
    task_id: int
    namespace: str
    handler: str
    input: JSON
    attempt: int
    raw: str
    """The step JSON as claimed (handed back to complete/fail)."""

    @classmethod
    def from_json(cls, raw: str) -> Step:
        """Decodes a step; ``ValueError`` names a missing or mistyped field."""
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("step: not a JSON object")

        def integer(key: str) -> int:
            v = data.get(key)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"step: missing field {key} (an integer)")
            return v

        def text(key: str) -> str:
            v = data.get(key)
            if not isinstance(v, str):
                raise ValueError(f"step: missing field {key} (a string)")
            return v

        return cls(
            msg_id=integer("msg_id"),
            step_id=integer("step_id"),
            task_id=integer("task_id"),
            namespace=text("namespace"),
            handler=text("handler"),
            input=data.get("input"),
            attempt=integer("attempt"),
            raw=raw,
        )


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed step."""

    step: Step
    result: HandlerResult
    recorded: bool = True
    """False when the claim went stale before the outcome was recorded."""

    @property
    def ok(self) -> bool:
        """True when the handler succeeded."""
        return self.result.ok

    @property
    def error(self) -> str | None:
        """The failure message, if the handler failed."""
        return self.result.error


@dataclass
class RunStats:
    """What a :meth:`Worker.run` loop did."""

    completed: int = 0
    failed: int = 0
    stale: int = 0

    def record(self, outcome: Outcome) -> None:
        """Counts one processed step."""
        if not outcome.recorded:
            self.stale += 1
        elif outcome.ok:
            self.completed += 1
        else:
            self.failed += 1


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Worker:
    """Serves one namespace with a :class:`HandlerRegistry`.

    The connection is opened on first use (or by :meth:`connect`) and kept
    until :meth:`close`; :meth:`run` manages it itself, reconnecting with
    backoff when the database goes away.
    """

    def __init__(
        self,
        database_url: str,
        namespace: str,
        registry: HandlerRegistry,
        *,
        visibility_timeout_ms: int = DEFAULT_VISIBILITY_TIMEOUT_MS,
        poll_interval_ms: int = DEFAULT_POLL_INTERVAL_MS,
        initial_backoff_s: float = INITIAL_BACKOFF_S,
        max_backoff_s: float = MAX_BACKOFF_S,
        connect: Connect = native_connect,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        self.database_url = database_url
        self.namespace = namespace
        self.registry = registry
        self.visibility_timeout_ms = visibility_timeout_ms
        self.poll_interval_ms = poll_interval_ms
        self.initial_backoff_s = initial_backoff_s
        self.max_backoff_s = max_backoff_s
        self._connect = connect
        self._log = log
        self._session: Session | None = None

    # -- connection -------------------------------------------------------

    @property
    def session(self) -> Session:
        """The open session, connecting first if needed."""
        return self.connect()

    def connect(self) -> Session:
        """Opens the session if none is open; raises ``TaskerError``."""
        if self._session is None:
            self._session = self._connect(self.database_url, self.namespace)
        return self._session

    def close(self) -> None:
        """Closes the session, if open."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one step ---------------------------------------------------------

    def execute(self, step: Step) -> HandlerResult:
        """Runs the step's handler (no database access)."""
        return self.registry.run(step.handler, step.input)

    def process(self, step: Step) -> Outcome:
        """Runs ``step``'s handler and records the outcome.

        A stale claim is logged and reported with ``recorded=False``; other
        core errors raise ``TaskerError``.
        """
        result = self.execute(step)
        session = self.session
        try:
            if result.result_json is not None:
                session.complete(step.raw, result.result_json)
            else:
                session.fail(step.raw, result.error or "")
        except TaskerError as e:
            if STALE_CLAIM_MARKER not in str(e):
                raise
            self._log(f"{session.worker_id}: {e}")
            return Outcome(step, result, recorded=False)
        return Outcome(step, result)

    def claim(self) -> Step | None:
        """Claims the next visible step, or returns ``None``."""
        raw = self.session.claim(self.visibility_timeout_ms)
        return None if raw is None else Step.from_json(raw)

    def process_one(self) -> Outcome | None:
        """Claims and processes one step; ``None`` when nothing is visible."""
        step = self.claim()
        return None if step is None else self.process(step)

    def run_once(self, wait_ms: int | None = None) -> Outcome | None:
        """Processes one step, waiting up to ``wait_ms`` (default: the poll
        interval) for one to arrive; ``None`` if none did."""
        timeout_ms = self.poll_interval_ms if wait_ms is None else wait_ms
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            outcome = self.process_one()
            if outcome is not None:
                return outcome
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                return None
            self.session.wait_for_work(left_ms)

    # -- the loop ---------------------------------------------------------

    def run(self, stop: Stop) -> RunStats:
        """Processes steps until ``stop`` is set; the step in hand is
        finished first. Core errors (connection lost, database down) are
        logged once per distinct message and retried after a backoff of
        ``initial_backoff_s`` doubling up to ``max_backoff_s``."""
        stats = RunStats()
        backoff = self.initial_backoff_s
        last_error = ""
        while not stop.is_set():
            try:
                session = self.connect()
                self._log(
                    f"{session.worker_id} serving {session.queue_name} "
                    f"with handlers {', '.join(self.registry.names())}"
                )
                backoff = self.initial_backoff_s
                last_error = ""
                while not stop.is_set():
                    outcome = self.process_one()
                    if outcome is None:
                        session.wait_for_work(self.poll_interval_ms)
                    else:
                        stats.record(outcome)
                break
            except TaskerError as e:
                error = str(e)
            self.close()
            if error != last_error:
                self._log(f"{error} (retrying)")
                last_error = error
            stop.wait(backoff)
            backoff = min(backoff * 2, self.max_backoff_s)
        self.close()
        return stats
