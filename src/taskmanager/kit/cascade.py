"""Deletions other features must hear of inside the deleting transaction, without an import.

A feature whose rows go by database cascade but that keeps something outside the database
(attachment bytes) registers a listener; the feature that deletes tasks, a project or an
account calls `deleting(...)` before its DELETE, while the doomed rows can still be read.
Listeners register when their module is imported: the app imports every router at start,
and the job worker every handler module (jobs/catalog.py), so both see the same listeners.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class Deleting:
    """What is about to be deleted: these tasks, this project or this user account."""

    kind: Literal["tasks", "project", "user"]
    ids: Sequence[uuid.UUID]
    actor_id: uuid.UUID


Listener = Callable[[AsyncSession, Deleting], Awaitable[None]]
_LISTENERS: list[Listener] = []


def on_deleting(listener: Listener) -> Listener:
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


async def deleting(session: AsyncSession, what: Deleting) -> None:
    for listener in _LISTENERS:
        await listener(session, what)
