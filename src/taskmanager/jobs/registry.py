"""Job kinds and their handlers: features register here, the worker looks them up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from taskmanager.state import Resources


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a handler gets besides its payload."""

    resources: Resources
    job_id: str
    attempt: int


async def open_session(resources: Resources) -> AsyncSession:
    """A session for a job's own transaction (a write one: SQLite takes its lock first)."""
    session = resources.session_factory()
    if resources.settings.is_sqlite:
        await session.connection(execution_options={"sqlite_immediate": True})
    return session


Handler = Callable[[JobContext, dict[str, Any]], Awaitable[None]]

_HANDLERS: dict[str, Handler] = {}


class PermanentJobError(Exception):
    """A failure no retry can fix (e.g. a malformed address): the job is given up at once."""


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register `func` for `kind`. Handlers run at least once, so they must be idempotent:
    a job whose worker died after the work but before deleting the row runs again."""

    def register(func: Handler) -> Handler:
        if _HANDLERS.get(kind, func) is not func:
            raise ValueError(f"job kind {kind!r} is registered twice")
        _HANDLERS[kind] = func
        return func

    return register


def lookup(kind: str) -> Handler | None:
    return _HANDLERS.get(kind)


def kinds() -> list[str]:
    return sorted(_HANDLERS)
