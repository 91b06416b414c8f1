"""Graceful stop on SIGINT / SIGTERM (like ``tasker_shared::shutdown``).

:func:`install` points both signals at a handler that only sets a flag;
the worker loop polls it and winds down after the step in hand. A second
signal exits at once (``os._exit(128 + signal)``).
"""

from __future__ import annotations

import os
import signal
import time
from types import FrameType

__all__ = ["StopFlag", "install"]

_SLICE_S = 0.05


class StopFlag:
    """A stop flag that is safe to set from a signal handler.

    Unlike ``threading.Event`` it takes no lock, so setting it while the
    main thread is inside :meth:`wait` cannot deadlock.
    """

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """Asks the loop to stop."""
        self._set = True

    def is_set(self) -> bool:
        """True once :meth:`set` was called."""
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """Sleeps up to ``timeout`` seconds (forever if ``None``), returning
        early (True) once the flag is set."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._set:
            if deadline is None:
                time.sleep(_SLICE_S)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, _SLICE_S))
        return True


def install(flag: StopFlag | None = None) -> StopFlag:
    """Sets ``flag`` (a new one by default) on the first SIGINT / SIGTERM and
    exits immediately on the second. Call from the main thread."""
    stop = StopFlag() if flag is None else flag

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            os._exit(128 + signum)
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    return stop
