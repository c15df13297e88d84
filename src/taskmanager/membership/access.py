"""The one membership and role check every project-scoped route goes through."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import ExecutableOption

from taskmanager.db import Base
from taskmanager.errors import Conflict, Forbidden, NotFound
from taskmanager.membership.models import Membership, Project


class Role(enum.StrEnum):
    owner = "owner"
    admin = "admin"
    member = "member"
    viewer = "viewer"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}


class ProjectNotFound(NotFound):
    code = "project_not_found"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "Project not found.")


class ProjectArchived(Conflict):
    code = "project_archived"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or "The project is archived and read-only; unarchive it first "
            '(PATCH {"archived": false}, admin or owner).'
        )


@dataclass(slots=True)
class Access:
    project: Project
    role: Role


async def require_role(
    session: AsyncSession,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    minimum: Role,
    write: bool = False,
    allow_archived: bool = False,
) -> Access:
    """The caller's access to a project, or ProjectNotFound (not a member) / Forbidden.

    `write=True` locks the project row first (FOR NO KEY UPDATE on PostgreSQL; SQLite writers
    are already serialised by BEGIN IMMEDIATE), so every write of a project runs one at a time:
    the event seq, task positions and version checks are all decided under that lock. Writes to
    an archived project are a 409 unless `allow_archived`.
    """
    stmt = (
        select(Project, Membership.role)
        .join(
            Membership,
            (Membership.project_id == Project.id) & (Membership.user_id == user_id),
        )
        .where(Project.id == project_id)
    )
    if write:
        stmt = stmt.with_for_update(of=Project, key_share=True)
    row = (await session.execute(stmt)).first()
    if row is None:
        raise ProjectNotFound()
    project, role_name = row
    role = Role(role_name)
    if role.rank < minimum.rank:
        raise Forbidden(f"This needs the {minimum} role or higher; your role is {role}.")
    if write and project.archived and not allow_archived:
        raise ProjectArchived()
    return Access(project=project, role=role)


RowT = TypeVar("RowT", bound=Base)


async def row_access(
    session: AsyncSession,
    *,
    model: type[RowT],
    row_id: uuid.UUID,
    user_id: uuid.UUID,
    not_found: Callable[[], NotFound],
    minimum: Role,
    write: bool = False,
    options: Sequence[ExecutableOption] = (),
) -> tuple[RowT, Access]:
    """A project's row (task, label, comment) and the caller's access, via `require_role`.

    `model` needs `id` and `project_id` columns. A caller who is not a member gets
    `not_found()` just like for a missing row, so ids of other projects' rows are not
    disclosed. For writes the project row is locked before the row is read, so what we read
    is current (a row deleted while we waited for the lock is not found).
    """
    columns = model.__table__.c
    project_id: uuid.UUID | None = await session.scalar(
        select(columns.project_id).where(columns.id == row_id)
    )
    if project_id is None:
        raise not_found()
    try:
        access = await require_role(session, project_id, user_id, minimum=minimum, write=write)
    except ProjectNotFound:
        raise not_found() from None
    row = await session.scalar(select(model).where(columns.id == row_id).options(*options))
    if row is None:
        raise not_found()
    return row, access
