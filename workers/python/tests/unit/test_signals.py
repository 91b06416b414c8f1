"""StopFlag and the SIGINT / SIGTERM handlers."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest

from tasker_worker_py.signals import StopFlag, install


@pytest.fixture
def restore_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_wait_times_out_or_returns_early() -> None:
    flag = StopFlag()
    start = time.monotonic()
    assert flag.wait(0.1) is False
    assert time.monotonic() - start >= 0.1
    flag.set()
    start = time.monotonic()
    assert flag.wait(10) is True
    assert flag.wait() is True
    assert time.monotonic() - start < 1


@pytest.mark.usefixtures("restore_handlers")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_first_signal_sets_the_flag(signum: int) -> None:
    flag = install()
    assert not flag.is_set()
    os.kill(os.getpid(), signum)
    # the handler runs in the main thread between bytecodes
    assert flag.wait(2)
