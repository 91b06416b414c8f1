"""redact_url: the same cases as tasker_shared::config::redact_url."""

from __future__ import annotations

import pytest

from tasker_worker_py.redact import redact_url


@pytest.mark.parametrize(
    ("url", "want"),
    [
        (
            "postgresql://tasker:tasker@127.0.0.1:5432/tasker_test",
            "postgresql://tasker:***@127.0.0.1:5432/tasker_test",
        ),
        ("postgres://u:p%40ss@h/d", "postgres://u:***@h/d"),
        ("postgres://u:p@ss/w@rd@h:1/d", "postgres://u:***@h:1/d"),
        ("postgres://u:@h/d", "postgres://u:***@h/d"),
        ("postgres://user@h/d", "postgres://user@h/d"),
        ("postgres://h/d", "postgres://h/d"),
        (
            "postgres://h/d?sslmode=disable&password=x&user=u",
            "postgres://h/d?sslmode=disable&password=***&user=u",
        ),
        ("postgres://u:a@h/d?password=b", "postgres://u:***@h/d?password=***"),
        ("host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"),
        ("host=h password='with space' dbname=d", "host=h password=*** dbname=d"),
        ("host=h PASSWORD=x", "host=h PASSWORD=***"),
        ("host=h mypassword=x", "host=h mypassword=x"),
        ("host=h password=", "host=h password="),
        ("host=İ password=x", "host=İ password=***"),
        ("", ""),
    ],
)
def test_redact_url(url: str, want: str) -> None:
    assert redact_url(url) == want


def test_the_password_never_survives() -> None:
    for url in [
        "postgresql://tasker:s3cret@localhost:5432/tasker",
        "postgresql://localhost/tasker?user=tasker&password=s3cret",
        "host=localhost password=s3cret",
        "postgresql://tasker:s3cret@localhost/tasker?Password=s3cret",
    ]:
        assert "s3cret" not in redact_url(url)
