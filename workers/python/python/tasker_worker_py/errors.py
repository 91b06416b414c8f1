"""Exceptions shared by the Python code and the native extension."""

from __future__ import annotations

__all__ = ["HandlerError", "TaskerError"]


class TaskerError(Exception):
    """An error reported by the Rust core; the message is the Rust error text.

    The native module ``tasker_worker_py._native`` raises this class (it
    imports it from here), so pure-Python code can catch it without loading
    the extension.
    """


class HandlerError(Exception):
    """Raised by a step handler to fail the step with exactly this message."""
