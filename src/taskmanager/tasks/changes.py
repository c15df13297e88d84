"""The one rule for changed tasks: next version, new updated_at, their derived fields, events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.events.rows import append_row_event
from taskmanager.events.schemas import EventName
from taskmanager.tasks.extras import load_extras
from taskmanager.tasks.models import Task
from taskmanager.tasks.schemas import TaskRead


async def save_tasks(
    session: AsyncSession, tasks: Sequence[Task], *, name: EventName, actor_id: uuid.UUID
) -> None:
    """Each task (labels loaded) gets its next version and one `name` event carrying it as
    GET returns it; the counts and relations of all of them come in one batch."""
    if not tasks:
        return
    now = utcnow()
    for task in tasks:
        task.version += 1
        task.updated_at = now
    await session.flush()
    await load_extras(session, tasks)
    for task in tasks:
        await append_row_event(session, task, name=name, actor_id=actor_id, read=TaskRead)
