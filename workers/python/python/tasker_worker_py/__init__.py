"""The tasker Python worker: Python step handlers on the Rust worker core.

Importing the package does not load the native extension
(``tasker_worker_py._native``); the worker connects through it on first use.
"""

from __future__ import annotations

from tasker_worker_py.errors import HandlerError, TaskerError
from tasker_worker_py.handlers import default_registry
from tasker_worker_py.redact import redact_url
from tasker_worker_py.registry import JSON, Handler, HandlerRegistry, HandlerResult
from tasker_worker_py.signals import StopFlag
from tasker_worker_py.worker import Outcome, RunStats, Step, Worker

__all__ = [
    "JSON",
    "Handler",
    "HandlerError",
    "HandlerRegistry",
    "HandlerResult",
    "Outcome",
    "RunStats",
    "Step",
    "StopFlag",
    "TaskerError",
    "Worker",
    "default_registry",
    "redact_url",
]
