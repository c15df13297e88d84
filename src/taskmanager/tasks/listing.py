"""The task list, the hottest read: Core rows and one label query, straight to JSON bytes."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.errors import ValidationFailed
from taskmanager.kit.pagination import PageRequest, paginate_rows
from taskmanager.labels.models import Label
from taskmanager.membership.access import Role, require_role
from taskmanager.membership.models import Membership
from taskmanager.tasks.extras import RELATIONS_JSON, relations_of
from taskmanager.tasks.models import PRIORITY_RANK, Task, task_labels
from taskmanager.tasks.reads import (
    LABELS_INDEX,
    LABELS_JSON,
    RELATIONS_INDEX,
    TASK_COLUMNS,
    render,
    task_item,
)
from taskmanager.tasks.service import SEARCH_EXPR, TASK_SORTS


@dataclass(slots=True)
class TaskFilters:
    status: str | None = None
    assignee_id: uuid.UUID | None = None
    label_id: uuid.UUID | None = None
    priority: str | None = None
    due_before: dt.datetime | None = None
    due_after: dt.datetime | None = None
    q: str | None = None
    parent_id: uuid.UUID | None = None
    top_level: bool = False


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _labels_of(
    session: AsyncSession, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Each task's labels in the relationship's order (by name), in one query."""
    by_task: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if not task_ids:
        return by_task
    rows = await session.execute(
        select(task_labels.c.task_id, Label.id, Label.name, Label.color)
        .join(Label, Label.id == task_labels.c.label_id)
        .where(task_labels.c.task_id.in_(task_ids))
        .order_by(Label.name)
    )
    for task_id, label_id, name, color in rows:
        by_task.setdefault(task_id, []).append({"id": label_id, "name": name, "color": color})
    return by_task


def _select(session: AsyncSession, user_id: uuid.UUID) -> tuple[Select[Any], bool]:
    """The page's columns for tasks of projects `user_id` is a member of (any role): the
    join is the permission check. PostgreSQL: labels and relations as JSON columns."""
    columns, postgres = task_columns(session)
    stmt = select(*columns).join(
        Membership,
        (Membership.project_id == Task.project_id) & (Membership.user_id == user_id),
    )
    return stmt, postgres


def _filtered(stmt: Select[Any], filters: TaskFilters) -> Select[Any]:
    if filters.status is not None:
        stmt = stmt.where(Task.status == filters.status)
    if filters.priority is not None:
        stmt = stmt.where(Task.priority_rank == PRIORITY_RANK[filters.priority])
    if filters.assignee_id is not None:
        stmt = stmt.where(Task.assignee_id == filters.assignee_id)
    if filters.label_id is not None:
        stmt = stmt.where(
            exists().where(
                task_labels.c.task_id == Task.id, task_labels.c.label_id == filters.label_id
            )
        )
    if filters.due_after is not None:
        stmt = stmt.where(Task.due_at >= filters.due_after)
    if filters.due_before is not None:
        stmt = stmt.where(Task.due_at < filters.due_before)
    if filters.q:
        pattern = f"%{_escape_like(filters.q.lower())}%"
        stmt = stmt.where(SEARCH_EXPR.like(pattern, escape="\\"))
    if filters.parent_id is not None:
        stmt = stmt.where(Task.parent_id == filters.parent_id)
    if filters.top_level:
        stmt = stmt.where(Task.parent_id.is_(None))
    return stmt


def task_columns(session: AsyncSession) -> tuple[list[Any], bool]:
    """The columns `task_items` renders: TASK_COLUMNS, and on PostgreSQL the labels and
    relations as JSON; the flag says which (pass it on to `task_items`)."""
    columns: list[Any] = [*TASK_COLUMNS]
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        columns += [LABELS_JSON, RELATIONS_JSON]
    return columns, postgres


async def task_items(
    session: AsyncSession, rows: Sequence[Any], *, postgres: bool
) -> list[dict[str, Any]]:
    """Rows of `task_columns` as the dicts of `TaskRead` (SQLite: two more queries)."""
    if postgres:
        # asyncpg's json codec (set up by SQLAlchemy) has decoded them; NULL: none.
        return [task_item(row, row[LABELS_INDEX] or [], row[RELATIONS_INDEX] or []) for row in rows]
    ids = [row[0] for row in rows]
    labels = await _labels_of(session, ids)
    relations = await relations_of(session, ids)
    return [task_item(row, labels.get(row[0], []), relations[row[0]]) for row in rows]


async def _render(
    session: AsyncSession, rows: Any, next_cursor: str | None, *, postgres: bool
) -> bytes:
    items = await task_items(session, rows, postgres=postgres)
    return render({"items": items, "next_cursor": next_cursor})


async def list_page(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    filters: TaskFilters,
    sort: str,
    page: PageRequest,
) -> bytes:
    """One page as the JSON of `Page[TaskRead]`, byte for byte.

    Validating 50 ORM objects into TaskRead and the page again was most of the list's CPU;
    the rows are already what TaskRead describes (the database enforces it), so they are
    serialised directly (reads.render: the same bytes the models give, checked against the
    create response in tests/tasks/test_tasks.py); the dict keys are in TaskRead's field
    order (see reads.task_item).
    """
    base, postgres = _select(session, user_id)
    # The role query runs only when the page is empty (not a member: 404; a member: the
    # empty page).
    stmt = _filtered(base.where(Task.project_id == project_id), filters)
    try:
        rows, next_cursor = await paginate_rows(
            session,
            stmt,
            sort=TASK_SORTS[sort],
            scope=f"tasks:{project_id}",
            page=page,
        )
    except ValidationFailed:
        # A bad cursor: a non-member still gets the 404 first, as when the check came first.
        await require_role(session, project_id, user_id, minimum=Role.viewer)
        raise
    if not rows:
        await require_role(session, project_id, user_id, minimum=Role.viewer)
    return await _render(session, rows, next_cursor, postgres=postgres)


async def assigned_page(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    assignee_id: uuid.UUID,
    filters: TaskFilters,
    sort: str,
    page: PageRequest,
) -> bytes:
    """ "My work": the tasks assigned to `assignee_id` in every project `user_id` can see, as
    one keyset-paged query on ix_tasks_assignee_due (no loop over projects)."""
    base, postgres = _select(session, user_id)
    stmt = _filtered(base.where(Task.assignee_id == assignee_id), filters)
    rows, next_cursor = await paginate_rows(
        session, stmt, sort=TASK_SORTS[sort], scope=f"tasks:assignee:{assignee_id}", page=page
    )
    return await _render(session, rows, next_cursor, postgres=postgres)
