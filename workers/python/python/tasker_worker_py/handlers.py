"""The Python worker's step handlers: ``sum``, ``reverse`` and ``fail``.

Same contract as the Rust worker's handlers (workers/rust/src/handlers.rs).
"""

from __future__ import annotations

import json
import math

from tasker_worker_py.errors import HandlerError
from tasker_worker_py.registry import JSON, HandlerRegistry

__all__ = ["HANDLERS", "default_registry", "fail", "reverse", "sum_numbers"]

HANDLERS = HandlerRegistry()
"""The handlers this worker serves (use :func:`default_registry` for a copy)."""

_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1
_SUM_USAGE = 'sum: expected {"numbers": [...]} or an array of numbers'
_REVERSE_USAGE = 'reverse: expected {"text": "..."} or a string'
_FAIL_DEFAULT = "fail: this handler always fails"


def default_registry() -> HandlerRegistry:
    """A new registry with every handler of this worker."""
    return HANDLERS.copy()


@HANDLERS.handler("sum")
def sum_numbers(value: JSON) -> JSON:
    """Adds numbers: input ``[1, 2]`` or ``{"numbers": [1, 2]}``, output
    ``{"sum": 3}``. Integers stay integers unless the sum leaves the 64-bit
    range (like the Rust worker, it is then a float)."""
    numbers = value.get("numbers") if isinstance(value, dict) else value
    if not isinstance(numbers, list):
        raise HandlerError(_SUM_USAGE)
    int_total: int | None = 0
    float_total = 0.0
    for i, n in enumerate(numbers):
        # bool is an int subclass in Python, but true/false are not numbers.
        if isinstance(n, bool) or not isinstance(n, (int, float)):
            raise HandlerError(f"sum: element {i} is not a number: {_compact(n)}")
        float_total += _to_float(n)
        if int_total is not None and isinstance(n, int) and _I64_MIN <= n <= _I64_MAX:
            total = int_total + n
            int_total = total if _I64_MIN <= total <= _I64_MAX else None
        else:
            int_total = None
    if int_total is not None:
        return {"sum": int_total}
    # serde_json writes non-finite floats as null.
    return {"sum": float_total if math.isfinite(float_total) else None}


@HANDLERS.handler("reverse")
def reverse(value: JSON) -> JSON:
    """Reverses a string (by characters): input ``"abc"`` or
    ``{"text": "abc"}``, output ``{"reversed": "cba"}``."""
    text = value.get("text") if isinstance(value, dict) else value
    if not isinstance(text, str):
        raise HandlerError(_REVERSE_USAGE)
    return {"reversed": text[::-1]}


@HANDLERS.handler("fail")
def fail(value: JSON) -> JSON:
    """Always fails, with ``{"message": "..."}`` as the error if given."""
    message = value.get("message") if isinstance(value, dict) else None
    raise HandlerError(message if isinstance(message, str) else _FAIL_DEFAULT)


def _compact(value: JSON) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _to_float(n: int | float) -> float:
    try:
        return float(n)
    except OverflowError:  # an integer beyond the float range
        return math.copysign(math.inf, n)
