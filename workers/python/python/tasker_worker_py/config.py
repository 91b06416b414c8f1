"""The worker process's settings, read from the environment.

Mirrors ``tasker_shared::config``: empty values count as unset.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from tasker_worker_py.redact import redact_url

__all__ = [
    "DEFAULT_BIND_HOST",
    "DEFAULT_ENVIRONMENT",
    "DEFAULT_PORT",
    "PORT_VAR",
    "Config",
    "ConfigError",
]

PORT_VAR = "PYTHON_WORKER_PORT"
DEFAULT_PORT = 8083
DEFAULT_BIND_HOST = "0.0.0.0"
DEFAULT_ENVIRONMENT = "development"
_PORT = re.compile(r"\+?[0-9]+")


class ConfigError(Exception):
    """A configuration problem, reported before anything starts."""


@dataclass(frozen=True)
class Config:
    """Settings of the Python worker process."""

    database_url: str
    environment: str = DEFAULT_ENVIRONMENT
    bind_host: str = DEFAULT_BIND_HOST
    port: int = DEFAULT_PORT

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Reads ``DATABASE_URL`` (required), ``TASKER_ENV``,
        ``TASKER_BIND_HOST`` and ``PYTHON_WORKER_PORT``."""

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value is not None and value.strip() else None

        database_url = get("DATABASE_URL")
        if database_url is None:
            raise ConfigError("DATABASE_URL is not set")
        return cls(
            database_url=database_url,
            environment=get("TASKER_ENV") or DEFAULT_ENVIRONMENT,
            bind_host=get("TASKER_BIND_HOST") or DEFAULT_BIND_HOST,
            port=_parse_port(PORT_VAR, get(PORT_VAR)),
        )

    @property
    def redacted_database_url(self) -> str:
        """``database_url`` with passwords hidden, for logs."""
        return redact_url(self.database_url)


def _parse_port(var: str, value: str | None) -> int:
    if value is None:
        return DEFAULT_PORT
    text = value.strip()
    port = int(text) if _PORT.fullmatch(text) else 0
    if not 0 < port <= 65535:
        raise ConfigError(f"{var}={json.dumps(value)} is not a valid port (1-65535)")
    return port
