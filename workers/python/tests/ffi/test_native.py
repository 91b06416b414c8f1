"""The native extension tasker_worker_py._native, without a database."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import tasker_worker_py
from tasker_worker_py.errors import TaskerError

pytestmark = pytest.mark.ffi


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_loaded_from_the_package_directory_only(native: ModuleType) -> None:
    assert native.__file__ is not None
    assert tasker_worker_py.__file__ is not None
    module_file = Path(native.__file__).resolve()
    assert module_file.parent == Path(tasker_worker_py.__file__).resolve().parent
    # exactly one built module wherever the package could be imported from
    candidates = {
        p.resolve()
        for entry in sys.path
        if entry and Path(entry, "tasker_worker_py").is_dir()
        for p in Path(entry, "tasker_worker_py").glob("_native*.so")
    }
    assert candidates == {module_file}


def test_constants(native: ModuleType) -> None:
    assert isinstance(native.BUILD_ID, str)
    assert native.BUILD_ID
    assert native.VERSION == "0.1.0"


def test_errors_are_the_python_tasker_error(native: ModuleType) -> None:
    assert native.TaskerError is TaskerError
    assert issubclass(TaskerError, Exception)


def test_connecting_to_an_unreachable_database_raises(native: ModuleType, down_url: str) -> None:
    with pytest.raises(TaskerError) as e:
        native.Session(down_url, "python")
    message = str(e.value)
    assert "Connection refused" in message or "connect" in message, message


def test_an_invalid_namespace_is_named(native: ModuleType, down_url: str) -> None:
    with pytest.raises(TaskerError, match=r'invalid namespace "Bad-NS"'):
        native.Session(down_url, "Bad-NS")


def test_argument_types_are_checked(native: ModuleType) -> None:
    with pytest.raises(TypeError):
        native.Session(1, "python")
    with pytest.raises(OverflowError):
        native.serve_health("127.0.0.1", 70000, "x", "python-worker", "0")
    with pytest.raises(OverflowError):
        native.testing.settle("x", 1, -1)


def test_health_is_503_while_the_database_is_down(native: ModuleType, down_url: str) -> None:
    server = native.serve_health("127.0.0.1", 0, down_url, "python-worker", "9.9.9")
    try:
        assert server.port > 0
        assert server.address == f"127.0.0.1:{server.port}"
        status, body = get(f"http://{server.address}/health")
        assert status == 503
        assert body["status"] == "unhealthy"
        assert body["service"] == "python-worker"
        assert body["version"] == "9.9.9"
        checks = body["checks"]
        assert isinstance(checks, dict)
        assert checks["database"]["status"] == "unhealthy"
        assert checks["database"]["message"]
        assert "s3cret" not in json.dumps(body)
    finally:
        server.shutdown()
    server.shutdown()  # idempotent
    # refused or reset, depending on how far the listener got closing
    with pytest.raises(OSError):  # noqa: PT011
        urllib.request.urlopen(f"http://{server.address}/health", timeout=5)


def test_health_server_class_and_busy_port(
    native: ModuleType, down_url: str, busy_port: int
) -> None:
    with pytest.raises(TaskerError, match=rf"^cannot listen on 127\.0\.0\.1:{busy_port}: "):
        native.HealthServer("127.0.0.1", busy_port, down_url, "python-worker", "0")
    server = native.HealthServer("127.0.0.1", 0, down_url, "python-worker", "0")
    assert repr(server) == f'HealthServer(address="{server.address}")'
    status, _ = get(f"http://{server.address}/health")
    assert status == 503
    server.shutdown()


def test_testing_helpers_report_errors(native: ModuleType, down_url: str) -> None:
    with pytest.raises(TaskerError, match=r"^input is not JSON"):
        native.testing.submit(down_url, "python", "sum", "{oops")
    with pytest.raises(TaskerError):
        native.testing.submit(down_url, "python", "sum", "[1]")
    with pytest.raises(TaskerError):
        native.testing.settle(down_url, 1, 10)


def test_blocking_calls_release_the_gil(worker_env: Callable[..., dict[str, str]]) -> None:
    # A thread connects to a server that accepts but never answers, so the
    # call blocks in Rust. The main thread must keep running Python meanwhile
    # (accept, recv, close); holding the GIL would hang, hence the subprocess
    # with a timeout.
    script = textwrap.dedent(
        """
        import socket, threading
        from tasker_worker_py import _native
        from tasker_worker_py.errors import TaskerError

        srv = socket.create_server(("127.0.0.1", 0))
        port = srv.getsockname()[1]
        errors = []

        def connect():
            try:
                _native.Session(f"postgresql://u@127.0.0.1:{port}/d", "python")
            except TaskerError as e:
                errors.append(str(e))

        t = threading.Thread(target=connect)
        t.start()
        conn, _ = srv.accept()
        assert conn.recv(8), "the client sent its startup message"
        assert t.is_alive(), "the connect is still blocked in Rust"
        n = sum(1 for _ in range(100000))  # Python runs while it blocks
        conn.close()
        srv.close()
        t.join(20)
        assert not t.is_alive()
        assert errors, "closing the server made the connect fail"
        print("ok", n)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok 100000"


def test_busy_port_fixture_really_is_busy(busy_port: int) -> None:
    with socket.socket() as s, pytest.raises(OSError, match="in use"):
        s.bind(("127.0.0.1", busy_port))
