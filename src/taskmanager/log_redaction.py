"""Tracebacks of database errors with the SQL statement but none of the values bound to it.

SQLAlchemy's `hide_parameters=True` (on every engine) drops the `[parameters: ...]` part of
its own messages, but the driver's message can still quote a value ("invalid input for
query argument $1: 'ada@example.com'", "Failing row contains (...)"), and that message
appears twice more in the chain (the driver's exception and SQLAlchemy's adapter around
it). So for any exception chain holding a `DBAPIError`, the statement and the error
classes (with the SQLSTATE) are kept and every driver message is left out.
"""

from __future__ import annotations

import traceback

from sqlalchemy.exc import DBAPIError, StatementError

WITHHELD = "(driver message withheld: it may quote bound values)"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, oldest first, as Python prints them."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    return chain[::-1]


def _name(exc: BaseException) -> str:
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


def _code(exc: BaseException) -> str:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "sqlite_errorname", None)
    return f" [{code}]" if isinstance(code, str) else ""


def _safe_line(exc: BaseException, *, driver: bool) -> str:
    if isinstance(exc, StatementError):
        orig = exc.orig
        origin = f"{_name(orig)}{_code(orig)}" if orig is not None else "unknown"
        return f"{_name(exc)}: ({origin}) {WITHHELD}\n[SQL: {exc.statement}]"
    if driver:
        return f"{_name(exc)}{_code(exc)}: {WITHHELD}"
    return "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")


def format_database_error(exc: BaseException) -> str | None:
    """The traceback of `exc` without driver messages, or None if no DBAPIError is in it."""
    chain = _chain(exc)
    last_dbapi = max((i for i, e in enumerate(chain) if isinstance(e, DBAPIError)), default=-1)
    if last_dbapi < 0:
        return None
    parts: list[str] = []
    for i, item in enumerate(chain):
        if i:
            direct = chain[i].__cause__ is chain[i - 1]
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
                if direct
                else "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
        if item.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(item.__traceback__))
        # Everything up to the last DBAPIError is the driver's or wraps its message.
        parts.append(_safe_line(item, driver=i <= last_dbapi) + "\n")
    return "".join(parts).rstrip("\n")
