"""How a feature records a change to one of a project's rows (task, label, comment) in its log."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.events.models import Event
from taskmanager.events.schemas import EventName
from taskmanager.events.service import append_event


class ProjectRow(Protocol):
    @property
    def project_id(self) -> uuid.UUID: ...


async def append_row_event(
    session: AsyncSession,
    row: ProjectRow,
    *,
    name: EventName,
    actor_id: uuid.UUID,
    read: type[BaseModel],
) -> Event:
    """Flush the row (a new one gets its id and defaults), then append `name` carrying the row
    as its response schema `read` renders it: an event holds exactly what a GET returns."""
    await session.flush()
    data = read.model_validate(row).model_dump(mode="json")
    return await append_event(
        session, project_id=row.project_id, name=name, actor_id=actor_id, data=data
    )


async def delete_row(
    session: AsyncSession,
    row: ProjectRow,
    *,
    name: EventName,
    actor_id: uuid.UUID,
    data: dict[str, Any],
) -> Event:
    """Delete the row and append its `*.deleted` event (`data`: the ids the contract names)."""
    await session.delete(row)
    await session.flush()
    return await append_event(
        session, project_id=row.project_id, name=name, actor_id=actor_id, data=data
    )
