"""Snapshot pages: the rows of some projects (projects, members, labels, tasks), keyset-paged.

Each phase reads one table for all the projects being snapshotted in one statement, in
(project_id, row id) order, joined to the caller's membership (the permission check: a
project the caller left meanwhile yields no rows). Rows are what the HTTP API returns.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from taskmanager.auth.models import User
from taskmanager.labels.models import Label
from taskmanager.labels.schemas import LabelRead
from taskmanager.membership.models import Membership, Project
from taskmanager.tasks.listing import task_columns, task_items
from taskmanager.tasks.models import Task
from taskmanager.tasks.service import count_by_status

PHASES = ("projects", "members", "labels", "tasks")


@dataclass(slots=True)
class Scope:
    """Whose snapshot, of which projects, and where the previous page ended."""

    user_id: uuid.UUID
    project_ids: Collection[uuid.UUID]
    after_project: uuid.UUID
    after_row: uuid.UUID


@dataclass(slots=True)
class Rows:
    """One phase's page: each row with its (project_id, row id) key, in key order."""

    items: list[dict[str, Any]] = field(default_factory=list)
    keys: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)


def _mine(project_column: Any, user_id: uuid.UUID) -> tuple[Any, ColumnElement[bool]]:
    mine = aliased(Membership, name="mine")
    return mine, (mine.project_id == project_column) & (mine.user_id == user_id)


def _after(project_column: Any, row_column: Any, scope: Scope) -> ColumnElement[bool]:
    return tuple_(project_column, row_column) > (scope.after_project, scope.after_row)


async def _projects(session: AsyncSession, scope: Scope, limit: int) -> Rows:
    stmt = (
        select(Project, Membership.role)
        .join(
            Membership,
            (Membership.project_id == Project.id) & (Membership.user_id == scope.user_id),
        )
        .where(Project.id.in_(scope.project_ids), Project.id > scope.after_project)
        .order_by(Project.id)
        .limit(limit)
    )
    found = list((await session.execute(stmt)).all())
    counts = await count_by_status(session, [project.id for project, _ in found])
    rows = Rows()
    for project, role in found:
        progress = {"todo": 0, "in_progress": 0, "done": 0} | counts[project.id]
        rows.items.append(
            {
                "id": project.id,
                "name": project.name,
                "description": project.description,
                "archived": project.archived,
                "role": role,
                "progress": progress,
                "created_at": project.created_at,
                "updated_at": project.updated_at,
            }
        )
        rows.keys.append((project.id, project.id))
    return rows


async def _members(session: AsyncSession, scope: Scope, limit: int) -> Rows:
    mine, is_mine = _mine(Membership.project_id, scope.user_id)
    stmt = (
        select(Membership.project_id, Membership.role, User.id, User.email, User.display_name)
        .join(User, User.id == Membership.user_id)
        .join(mine, is_mine)
        .where(
            Membership.project_id.in_(scope.project_ids),
            _after(Membership.project_id, Membership.user_id, scope),
        )
        .order_by(Membership.project_id, Membership.user_id)
        .limit(limit)
    )
    rows = Rows()
    for project_id, role, user_id, email, display_name in await session.execute(stmt):
        rows.items.append(
            {
                "project_id": project_id,
                "user": {"id": user_id, "email": email, "display_name": display_name},
                "role": role,
            }
        )
        rows.keys.append((project_id, user_id))
    return rows


async def _labels(session: AsyncSession, scope: Scope, limit: int) -> Rows:
    mine, is_mine = _mine(Label.project_id, scope.user_id)
    stmt = (
        select(Label)
        .join(mine, is_mine)
        .where(Label.project_id.in_(scope.project_ids), _after(Label.project_id, Label.id, scope))
        .order_by(Label.project_id, Label.id)
        .limit(limit)
    )
    rows = Rows()
    for label in await session.scalars(stmt):
        rows.items.append(LabelRead.model_validate(label).model_dump())
        rows.keys.append((label.project_id, label.id))
    return rows


async def _tasks(session: AsyncSession, scope: Scope, limit: int) -> Rows:
    columns, postgres = task_columns(session)
    mine, is_mine = _mine(Task.project_id, scope.user_id)
    stmt = (
        select(*columns)
        .join(mine, is_mine)
        .where(Task.project_id.in_(scope.project_ids), _after(Task.project_id, Task.id, scope))
        .order_by(Task.project_id, Task.id)
        .limit(limit)
    )
    found = list((await session.execute(stmt)).all())
    items = await task_items(session, found, postgres=postgres)
    return Rows(items=items, keys=[(item["project_id"], item["id"]) for item in items])


READERS: tuple[Callable[[AsyncSession, Scope, int], Awaitable[Rows]], ...] = (
    _projects,
    _members,
    _labels,
    _tasks,
)


async def read_phase(session: AsyncSession, phase: int, scope: Scope, limit: int) -> Rows:
    """Up to `limit` rows of phase `phase` after the scope's position."""
    return await READERS[phase](session, scope, limit)
