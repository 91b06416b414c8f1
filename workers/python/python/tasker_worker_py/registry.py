"""Named step handlers."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from tasker_worker_py.errors import HandlerError

__all__ = ["JSON", "Handler", "HandlerRegistry", "HandlerResult", "dump_json"]

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
"""A decoded JSON value (what ``json.loads`` returns)."""

Handler = Callable[[JSON], JSON]
"""A step handler: the step's input in, the step's result out.

Raise :class:`~tasker_worker_py.errors.HandlerError` to fail the step with a
message; any other exception fails it too, naming the exception.
"""

H = TypeVar("H", bound=Handler)


def dump_json(value: JSON) -> str:
    """Compact JSON text, rejecting NaN and infinities (not valid JSON)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True)
class HandlerResult:
    """What running a handler produced: a result (as JSON text) or an error."""

    result_json: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the handler succeeded."""
        return self.error is None

    @property
    def result(self) -> JSON:
        """The decoded result (``None`` for a failure)."""
        if self.result_json is None:
            return None
        value: JSON = json.loads(self.result_json)
        return value

    @classmethod
    def success(cls, value: JSON) -> HandlerResult:
        """A success with ``value`` as the result."""
        return cls(result_json=dump_json(value))

    @classmethod
    def failure(cls, message: str) -> HandlerResult:
        """A failure with ``message`` as the error."""
        return cls(error=message)


class HandlerRegistry:
    """Handlers by name.

    >>> handlers = HandlerRegistry()
    >>> @handlers.handler("double")
    ... def double(value: JSON) -> JSON:
    ...     if not isinstance(value, int):
    ...         raise HandlerError("expected an integer")
    ...     return value * 2
    >>> handlers.run("double", 21)
    HandlerResult(result_json='42', error=None)
    >>> handlers.run("double", "x").error
    'expected an integer'
    """

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> HandlerRegistry:
        """Registers (or replaces) the handler called ``name``; chainable."""
        if not name:
            raise ValueError("a handler name must not be empty")
        self._handlers[name] = handler
        return self

    def handler(self, name: str | None = None) -> Callable[[H], H]:
        """Decorator registering a function (under its own name by default)."""

        def decorate(fn: H) -> H:
            self.register(fn.__name__ if name is None else name, fn)
            return fn

        return decorate

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __len__(self) -> int:
        return len(self._handlers)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._handlers)

    def copy(self) -> HandlerRegistry:
        """A new registry with the same handlers."""
        new = HandlerRegistry()
        new._handlers.update(self._handlers)
        return new

    def unknown_message(self, name: str) -> str:
        """The error for a step naming a handler that is not registered."""
        return f"no handler registered for {json.dumps(name)} (known: {', '.join(self.names())})"

    def run(self, name: str, value: JSON) -> HandlerResult:
        """Runs the handler called ``name`` on ``value``; never raises for
        handler problems: an unknown name, a handler exception or a result
        that is not JSON become a failure with a message."""
        handler = self._handlers.get(name)
        if handler is None:
            return HandlerResult.failure(self.unknown_message(name))
        try:
            result = handler(value)
        except HandlerError as e:
            return HandlerResult.failure(str(e))
        except Exception as e:
            return HandlerResult.failure(f"handler {json.dumps(name)} raised {_describe(e)}")
        try:
            return HandlerResult.success(result)
        except (TypeError, ValueError) as e:
            return HandlerResult.failure(
                f"handler {json.dumps(name)} returned a value that is not JSON: {e}"
            )

    def __repr__(self) -> str:
        return f"HandlerRegistry({self.names()!r})"


def _describe(e: BaseException) -> str:
    text = str(e)
    return type(e).__name__ if not text else f"{type(e).__name__}: {text}"
