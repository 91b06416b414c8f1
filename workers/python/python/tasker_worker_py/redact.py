"""Hiding passwords in connection strings before they are logged.

A port of ``tasker_shared::config::redact_url`` so every worker prints the
same redacted form.
"""

from __future__ import annotations

__all__ = ["redact_url"]

_KEY = "password="
_BOUNDARY = "?& \t\n"
_VALUE_END = "& \t\n#"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def redact_url(url: str) -> str:
    """Replaces passwords in ``url`` with ``***``.

    Handles the URL form (``scheme://user:password@host/...``, including
    ``@`` and ``/`` inside the password), ``password=`` query parameters and
    the libpq key/value form (``host=... password=...``).

    >>> redact_url("postgresql://tasker:s3cret@db:5432/tasker")
    'postgresql://tasker:***@db:5432/tasker'
    >>> redact_url("host=db password=s3cret")
    'host=db password=***'
    """
    out: list[str] = []
    rest = url
    scheme_end = url.find("://")
    if scheme_end >= 0:
        scheme, after = url[: scheme_end + 3], url[scheme_end + 3 :]
        out.append(scheme)
        # The userinfo ends at the last '@' before the query string.
        query_start = after.find("?")
        if query_start < 0:
            query_start = len(after)
        at = after.rfind("@", 0, query_start)
        if at >= 0:
            userinfo = after[:at]
            colon = userinfo.find(":")
            out.append(userinfo if colon < 0 else userinfo[:colon] + ":***")
            rest = after[at:]
        else:
            rest = after
    out.append(_redact_password_params(rest))
    return "".join(out)


def _redact_password_params(s: str) -> str:
    """Replaces the value of every ``password=`` parameter with ``***``."""
    out: list[str] = []
    rest = s
    while True:
        # ASCII-only lowering keeps indexes aligned with ``rest``.
        pos = rest.translate(_ASCII_LOWER).find(_KEY)
        if pos < 0:
            break
        boundary_ok = pos == 0 or rest[pos - 1] in _BOUNDARY
        value_start = pos + len(_KEY)
        out.append(rest[:value_start])
        rest = rest[value_start:]
        if not boundary_ok:
            continue
        if rest.startswith("'"):
            # libpq quoting: 'value with spaces'
            closing = rest.find("'", 1)
            value_end = len(rest) if closing < 0 else closing + 1
        else:
            ends = [i for i in (rest.find(c) for c in _VALUE_END) if i >= 0]
            value_end = min(ends, default=len(rest))
        if value_end > 0:
            out.append("***")
        rest = rest[value_end:]
    out.append(rest)
    return "".join(out)
