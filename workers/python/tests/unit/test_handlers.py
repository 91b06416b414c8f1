"""The sum / reverse / fail handlers (same contract as the Rust worker)."""

from __future__ import annotations

import pytest

from tasker_worker_py.errors import HandlerError
from tasker_worker_py.handlers import HANDLERS, default_registry, fail, reverse, sum_numbers
from tasker_worker_py.registry import JSON

I64_MAX = 2**63 - 1


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ([1, 2], {"sum": 3}),
        ([1, 2, 3], {"sum": 6}),
        ({"numbers": [1, 2]}, {"sum": 3}),
        ({"numbers": [1, 2.5]}, {"sum": 3.5}),
        ({"numbers": []}, {"sum": 0}),
        ([-4, 4], {"sum": 0}),
        ([1.0, 2], {"sum": 3.0}),
        ([I64_MAX, 1], {"sum": float(I64_MAX) + 1.0}),
        ([2**64, -(2**64)], {"sum": 0.0}),
    ],
)
def test_sum(value: JSON, want: JSON) -> None:
    got = sum_numbers(value)
    assert got == want
    # ints stay ints, floats stay floats (3 and 3.0 compare equal)
    assert isinstance(got, dict)
    assert isinstance(want, dict)
    assert type(got["sum"]) is type(want["sum"])


def test_sum_keeps_integers_as_integers() -> None:
    assert sum_numbers([1, 2]) == {"sum": 3}
    got = sum_numbers({"numbers": [10, 20]})
    assert isinstance(got, dict)
    assert isinstance(got["sum"], int)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, "2"], 'sum: element 1 is not a number: "2"'),
        ([True], "sum: element 0 is not a number: true"),
        ([1, None], "sum: element 1 is not a number: null"),
        ({"nums": [1]}, 'sum: expected {"numbers": [...]} or an array of numbers'),
        ({"numbers": 5}, 'sum: expected {"numbers": [...]} or an array of numbers'),
        (5, 'sum: expected {"numbers": [...]} or an array of numbers'),
        ("12", 'sum: expected {"numbers": [...]} or an array of numbers'),
    ],
)
def test_sum_rejects(value: JSON, message: str) -> None:
    with pytest.raises(HandlerError) as e:
        sum_numbers(value)
    assert str(e.value) == message


def test_sum_of_huge_floats_is_null_like_serde_json() -> None:
    assert sum_numbers([1e308, 1e308]) == {"sum": None}


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("abc", "cba"),
        ({"text": "abc"}, "cba"),
        ({"text": "héllo"}, "olléh"),
        ("", ""),
        ("🦀x", "x🦀"),
    ],
)
def test_reverse(value: JSON, want: str) -> None:
    assert reverse(value) == {"reversed": want}


@pytest.mark.parametrize("value", [{"text": 1}, None, 5, ["abc"], {"txt": "abc"}])
def test_reverse_rejects(value: JSON) -> None:
    with pytest.raises(HandlerError, match=r'^reverse: expected \{"text": "\.\.\."\} or a string$'):
        reverse(value)


def test_fail_uses_the_message() -> None:
    with pytest.raises(HandlerError) as e:
        fail({"message": "nope"})
    assert str(e.value) == "nope"


@pytest.mark.parametrize("value", [None, {}, {"message": 5}, ["message"], "message"])
def test_fail_default_message(value: JSON) -> None:
    with pytest.raises(HandlerError) as e:
        fail(value)
    assert str(e.value) == "fail: this handler always fails"


def test_registry_has_every_handler() -> None:
    r = default_registry()
    assert r.names() == ["fail", "reverse", "sum"]
    assert r.run("sum", [2, 2]).result == {"sum": 4}
    assert r.run("sum", [2, 2]).result_json == '{"sum":4}'
    assert r.run("reverse", "ab").result == {"reversed": "ba"}
    assert r.run("fail", {"message": "x"}).error == "x"
    # a copy: changing it leaves the module registry alone
    r.register("extra", lambda v: v)
    assert "extra" not in HANDLERS
