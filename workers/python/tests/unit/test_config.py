"""Config.from_env: the process's settings."""

from __future__ import annotations

import pytest

from tasker_worker_py.config import Config, ConfigError

URL = "postgresql://tasker:s3cret@localhost:5432/tasker"


def test_defaults() -> None:
    cfg = Config.from_env({"DATABASE_URL": URL})
    assert cfg == Config(URL, "development", "0.0.0.0", 8083)
    assert cfg.redacted_database_url == "postgresql://tasker:***@localhost:5432/tasker"


def test_overrides_and_empty_values_count_as_unset() -> None:
    cfg = Config.from_env(
        {
            "DATABASE_URL": URL,
            "PYTHON_WORKER_PORT": " 9001 ",
            "TASKER_BIND_HOST": "127.0.0.1",
            "TASKER_ENV": "test",
            "RUST_WORKER_PORT": "1",
        }
    )
    assert (cfg.port, cfg.bind_host, cfg.environment) == (9001, "127.0.0.1", "test")
    cfg = Config.from_env({"DATABASE_URL": URL, "PYTHON_WORKER_PORT": "", "TASKER_ENV": "  "})
    assert (cfg.port, cfg.environment) == (8083, "development")


@pytest.mark.parametrize("env", [{}, {"DATABASE_URL": ""}, {"DATABASE_URL": "   "}])
def test_database_url_is_required(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"^DATABASE_URL is not set$"):
        Config.from_env(env)


@pytest.mark.parametrize("bad", ["0", "65536", "http", "-1", "80a", "8_083", "1e3"])
def test_invalid_ports(bad: str) -> None:
    with pytest.raises(ConfigError) as e:
        Config.from_env({"DATABASE_URL": URL, "PYTHON_WORKER_PORT": bad})
    assert str(e.value) == f'PYTHON_WORKER_PORT="{bad}" is not a valid port (1-65535)'


def test_plus_sign_is_accepted_like_rust() -> None:
    assert Config.from_env({"DATABASE_URL": URL, "PYTHON_WORKER_PORT": "+8085"}).port == 8085
