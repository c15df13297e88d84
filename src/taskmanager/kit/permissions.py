"""The one membership and role check every project-scoped route goes through."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.errors import Conflict, Forbidden, NotFound
from taskmanager.projects.models import Membership, Project


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
