"""HandlerRegistry: registration, decorators and failure messages."""

from __future__ import annotations

import pytest

from tasker_worker_py.errors import HandlerError
from tasker_worker_py.registry import JSON, HandlerRegistry, HandlerResult, dump_json


def test_decorator_registers_under_a_name_or_the_function_name() -> None:
    r = HandlerRegistry()

    @r.handler("double")
    def twice(value: JSON) -> JSON:
        assert isinstance(value, int)
        return value * 2

    @r.handler()
    def echo(value: JSON) -> JSON:
        return value

    assert r.names() == ["double", "echo"]
    assert "double" in r
    assert "twice" not in r
    assert len(r) == 2
    # the decorator returns the function unchanged
    assert twice(4) == 8
    assert r.run("double", 21) == HandlerResult(result_json="42")
    assert r.run("echo", {"a": [1, None]}).result == {"a": [1, None]}
    assert repr(r) == "HandlerRegistry(['double', 'echo'])"


def test_register_is_chainable_and_replaces() -> None:
    r = HandlerRegistry().register("a", lambda v: 1).register("a", lambda v: 2)
    assert r.names() == ["a"]
    assert r.run("a", None).result == 2
    with pytest.raises(ValueError, match="must not be empty"):
        r.register("", lambda v: v)


def test_unknown_handler_names_it_and_the_known_ones() -> None:
    r = HandlerRegistry().register("sum", lambda v: v).register("fail", lambda v: v)
    result = r.run("nope", 1)
    assert not result.ok
    assert result.error == 'no handler registered for "nope" (known: fail, sum)'
    assert result.result is None


def test_handler_error_is_the_message() -> None:
    def bad(value: JSON) -> JSON:
        raise HandlerError("bad input")

    result = HandlerRegistry().register("bad", bad).run("bad", None)
    assert result == HandlerResult(error="bad input")


def test_other_exceptions_fail_the_step_with_their_message() -> None:
    def boom(value: JSON) -> JSON:
        raise ValueError("kaboom")

    def empty(value: JSON) -> JSON:
        raise RuntimeError

    r = HandlerRegistry().register("boom", boom).register("empty", empty)
    assert r.run("boom", None).error == 'handler "boom" raised ValueError: kaboom'
    assert r.run("empty", None).error == 'handler "empty" raised RuntimeError'


def test_base_exceptions_are_not_swallowed() -> None:
    def interrupt(value: JSON) -> JSON:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        HandlerRegistry().register("i", interrupt).run("i", None)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}, object()])
def test_results_that_are_not_json_fail_the_step(bad: object) -> None:
    r = HandlerRegistry().register("x", lambda v: bad)  # type: ignore[arg-type,return-value]
    result = r.run("x", None)
    assert result.error is not None
    assert result.error.startswith('handler "x" returned a value that is not JSON: ')


def test_dump_json_is_compact_and_keeps_unicode() -> None:
    assert dump_json({"a": [1, 2.5, None, True], "b": "é"}) == '{"a":[1,2.5,null,true],"b":"é"}'
