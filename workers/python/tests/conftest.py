"""Shared fixtures: the native module, a database URL and unique namespaces."""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

WorkerEnv = Callable[..., dict[str, str]]
PACKAGE_ROOT = Path(__file__).resolve().parent.parent / "python"
"""The directory holding the tasker_worker_py package."""

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def native() -> ModuleType:
    """The native extension (FFI tests fail, not skip, when it is not built)."""
    from tasker_worker_py import _native

    return _native


@pytest.fixture(scope="session")
def database_url() -> str:
    """DATABASE_URL, or skip: integration tests need a migrated database."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        pytest.skip(
            "DATABASE_URL is not set: integration tests need a migrated tasker database "
            "(e.g. `go tool mage db:setup`, then export DATABASE_URL)"
        )
    return url


@pytest.fixture
def namespace() -> Callable[[], str]:
    """Makes namespaces no other test or worker uses: python_it_<pid>_<n>."""
    return lambda: f"python_it_{os.getpid()}_{next(_counter)}"


@pytest.fixture
def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A TCP port held open (listening) on 127.0.0.1 for the test."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def down_url() -> str:
    """A database URL nothing listens on (with a password, to check redaction)."""
    return "postgresql://tasker:s3cret@127.0.0.1:1/none"


@pytest.fixture
def worker_env() -> WorkerEnv:
    """Builds the environment of a worker subprocess: ours without the
    tasker variables, plus the keyword arguments."""

    def build(**overrides: str) -> dict[str, str]:
        drop = {"DATABASE_URL", "PYTHON_WORKER_PORT", "TASKER_BIND_HOST", "TASKER_ENV"}
        env = {k: v for k, v in os.environ.items() if k not in drop}
        # like pytest's pythonpath: works before `maturin develop` too
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")) if p
        )
        env.update(overrides)
        return env

    return build
