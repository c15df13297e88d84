"""Calendar feeds: issue and revoke the secret, and render a user's due tasks as VTODOs."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from icalendar import Calendar, Todo
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.calendar.models import CalendarFeed
from taskmanager.db import utcnow
from taskmanager.errors import NotFound
from taskmanager.membership.models import Membership, Project
from taskmanager.tasks.models import PRIORITIES, Task

# At most this many VTODOs per feed (the latest due first): calendar apps poll feeds.
MAX_TODOS = 5000
_STATUS = {"todo": "NEEDS-ACTION", "in_progress": "IN-PROCESS", "done": "COMPLETED"}
# RFC 5545 PRIORITY: 1 highest .. 9 lowest, 0 undefined.
_PRIORITY = {"none": 0, "low": 9, "medium": 5, "high": 3, "urgent": 1}


class FeedNotFound(NotFound):
    code = "calendar_feed_not_found"

    def __init__(self) -> None:
        super().__init__("Calendar feed not found.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_feed(session: AsyncSession, *, user_id: uuid.UUID) -> str:
    """A new secret for the user's feed; any earlier URL stops working."""
    token = secrets.token_urlsafe(32)
    await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    session.add(CalendarFeed(user_id=user_id, token_hash=_hash(token), created_at=utcnow()))
    await session.flush()
    return token


async def revoke_feed(session: AsyncSession, *, user_id: uuid.UUID) -> None:
    result = await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    if not result.rowcount:  # type: ignore[attr-defined]
        raise FeedNotFound()


async def render_feed(session: AsyncSession, *, token: str, everything: bool) -> bytes:
    """The iCalendar file of a feed: one VTODO per task with a due date assigned to its user
    (`everything`: every task with a due date in the user's projects). Unknown: 404."""
    user_id = await session.scalar(
        select(CalendarFeed.user_id).where(CalendarFeed.token_hash == _hash(token))
    )
    if user_id is None:
        raise FeedNotFound()
    stmt = (
        select(Task, Project.name)
        .join(
            Membership, (Membership.project_id == Task.project_id) & (Membership.user_id == user_id)
        )
        .join(Project, Project.id == Task.project_id)
        .where(Task.due_at.is_not(None))
        .order_by(Task.due_at.desc(), Task.id)
        .limit(MAX_TODOS)
    )
    if not everything:
        stmt = stmt.where(Task.assignee_id == user_id)
    cal = Calendar()
    cal.add("prodid", "-//taskmanager//calendar feed//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "Tasks" if everything else "My tasks")
    for task, project_name in await session.execute(stmt):
        todo = Todo()
        todo.add("uid", f"{task.id}@taskmanager")
        todo.add("dtstamp", task.updated_at.astimezone(dt.UTC))
        todo.add("last-modified", task.updated_at.astimezone(dt.UTC))
        todo.add("sequence", task.version)
        todo.add("summary", task.title)
        if task.description:
            todo.add("description", task.description)
        todo.add("due", task.due_at.astimezone(dt.UTC) if task.due_at else None)
        todo.add("status", _STATUS[task.status])
        todo.add("priority", _PRIORITY[PRIORITIES[task.priority_rank]])
        todo.add("categories", [project_name])
        cal.add_component(todo)
    body: bytes = cal.to_ical()
    return body
