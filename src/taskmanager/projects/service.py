"""Projects and members: who may do what, and the events every change appends."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, selectinload

from taskmanager.auth.models import User
from taskmanager.db import utcnow
from taskmanager.errors import Conflict, Forbidden, NotFound, ValidationFailed
from taskmanager.events.schemas import EventName
from taskmanager.events.service import append_event
from taskmanager.kit.cascade import Deleting, deleting
from taskmanager.kit.pagination import PageRequest, SortSpec, paginate
from taskmanager.kit.user_channel import joined_message, user_channel
from taskmanager.membership.access import ProjectArchived, Role, require_role
from taskmanager.membership.models import Membership, Project
from taskmanager.projects.schemas import (
    MemberRead,
    MemberUpdate,
    Progress,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
    ProjectView,
)
from taskmanager.tasks import service as tasks
from taskmanager.uow import UnitOfWork

PROJECT_SORT = SortSpec(
    name="-created_at",
    attr="created_at",
    column=Project.created_at,
    id_column=Project.id,
    kind="datetime",
    descending=True,
)


class MemberNotFound(NotFound):
    code = "member_not_found"

    def __init__(self) -> None:
        super().__init__("No such member in this project.")


class MemberExists(Conflict):
    code = "member_exists"

    def __init__(self) -> None:
        super().__init__("That user is already a member of this project.")


async def _progress(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Progress]:
    counts = await tasks.count_by_status(session, project_ids)
    return {pid: Progress(**counts[pid]) for pid in project_ids}


async def _view(session: AsyncSession, project: Project, role: Role) -> ProjectView:
    progress = (await _progress(session, [project.id]))[project.id]
    return ProjectView(project=project, role=role, progress=progress)


async def _member_event(
    session: AsyncSession, membership: Membership, *, name: EventName, actor_id: uuid.UUID
) -> None:
    await append_event(
        session,
        project_id=membership.project_id,
        name=name,
        actor_id=actor_id,
        data=MemberRead.of(membership).model_dump(mode="json"),
    )


async def create_project(
    session: AsyncSession, *, user_id: uuid.UUID, data: ProjectCreate
) -> ProjectView:
    now = utcnow()
    project = Project(
        name=data.name, description=data.description, created_at=now, updated_at=now, event_seq=0
    )
    session.add(project)
    await session.flush()
    session.add(Membership(project_id=project.id, user_id=user_id, role=Role.owner.value))
    await session.flush()
    uow = UnitOfWork.find(session)
    if uow is not None:
        uow.publish_after_commit(user_channel(user_id), joined_message(project.id))
    return ProjectView(project=project, role=Role.owner, progress=Progress())


async def list_projects(
    session: AsyncSession, *, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[ProjectView], str | None]:
    stmt = select(Project).join(
        Membership, (Membership.project_id == Project.id) & (Membership.user_id == user_id)
    )
    projects, next_cursor = await paginate(
        session, stmt, sort=PROJECT_SORT, scope="projects", page=page
    )
    ids = [p.id for p in projects]
    roles: dict[uuid.UUID, str] = {}
    if ids:
        rows = await session.execute(
            select(Membership.project_id, Membership.role).where(
                Membership.user_id == user_id, Membership.project_id.in_(ids)
            )
        )
        roles = {row[0]: row[1] for row in rows}
    progress = await _progress(session, ids)
    views = [ProjectView(p, Role(roles[p.id]), progress[p.id]) for p in projects]
    return views, next_cursor


async def get_project(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID
) -> ProjectView:
    access = await require_role(session, project_id, user_id, minimum=Role.viewer)
    return await _view(session, access.project, access.role)


async def update_project(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, data: ProjectUpdate
) -> ProjectView:
    access = await require_role(
        session, project_id, user_id, minimum=Role.admin, write=True, allow_archived=True
    )
    project = access.project
    changes = data.model_dump(exclude_unset=True)
    # An archived project only accepts being unarchived (possibly with other edits).
    if project.archived and changes.get("archived") is not False:
        raise ProjectArchived()
    for field, value in changes.items():
        setattr(project, field, value)
    project.updated_at = utcnow()
    await session.flush()
    view = await _view(session, project, access.role)
    # Event data is the project as a neutral observer sees it: without the caller's role.
    await append_event(
        session,
        project_id=project_id,
        name="project.updated",
        actor_id=user_id,
        data=ProjectRead.of(view).model_dump(mode="json", exclude={"role"}),
    )
    return view


async def delete_project(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    await require_role(
        session, project_id, user_id, minimum=Role.owner, write=True, allow_archived=True
    )
    await deleting(session, Deleting(kind="project", ids=[project_id], actor_id=user_id))
    # Appended (and published after commit) even though the cascade removes the log with it.
    await append_event(
        session,
        project_id=project_id,
        name="project.deleted",
        actor_id=user_id,
        data={"id": str(project_id)},
    )
    await session.execute(
        delete(Project).where(Project.id == project_id).execution_options(synchronize_session=False)
    )


async def list_members(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID
) -> list[Membership]:
    """The members (users loaded), owner first, then admins, members and viewers, each by
    e-mail."""
    await require_role(session, project_id, user_id, minimum=Role.viewer)
    rows = await session.scalars(
        select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == project_id)
        # The join that orders by e-mail also fills `user` (selectinload: a second query).
        .options(contains_eager(Membership.user))
        .order_by(User.email)
    )
    return sorted(rows, key=lambda m: -Role(m.role).rank)


async def _membership(
    session: AsyncSession, project_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    found: Membership | None = await session.scalar(
        select(Membership)
        .where(Membership.project_id == project_id, Membership.user_id == user_id)
        .options(selectinload(Membership.user))
    )
    return found


async def update_member(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    member_id: uuid.UUID,
    data: MemberUpdate,
) -> Membership:
    access = await require_role(
        session, project_id, user_id, minimum=Role.admin, write=True, allow_archived=True
    )
    membership = await _membership(session, project_id, member_id)
    if membership is None:
        raise MemberNotFound()
    if membership.role == Role.owner:
        raise Forbidden("The owner's role changes only by transferring ownership.")
    if access.role != Role.owner and Role.admin in (membership.role, data.role):
        raise Forbidden("Only the owner can grant, change or revoke the admin role.")
    membership.role = data.role
    await session.flush()
    await _member_event(session, membership, name="member.updated", actor_id=user_id)
    return membership


async def remove_member(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, member_id: uuid.UUID
) -> None:
    leaving = member_id == user_id
    access = await require_role(
        session,
        project_id,
        user_id,
        minimum=Role.viewer if leaving else Role.admin,
        write=True,
        allow_archived=True,
    )
    membership = await _membership(session, project_id, member_id)
    if membership is None:
        raise MemberNotFound()
    if membership.role == Role.owner:
        raise Forbidden("The owner cannot leave or be removed; transfer ownership first.")
    if not leaving and membership.role == Role.admin and access.role != Role.owner:
        raise Forbidden("Only the owner can remove an admin.")
    await session.delete(membership)
    await session.flush()
    await tasks.unassign_member(
        session, project_id=project_id, member_id=member_id, actor_id=user_id
    )
    await append_event(
        session,
        project_id=project_id,
        name="member.removed",
        actor_id=user_id,
        data={"user_id": str(member_id)},
    )


async def transfer_ownership(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, new_owner_id: uuid.UUID
) -> ProjectView:
    access = await require_role(
        session, project_id, user_id, minimum=Role.owner, write=True, allow_archived=True
    )
    target = (
        await _membership(session, project_id, new_owner_id) if new_owner_id != user_id else None
    )
    if target is None:
        raise ValidationFailed.field(
            ("body", "user_id"), "The new owner must be another member of this project."
        )
    old = await _membership(session, project_id, user_id)
    assert old is not None
    old.role = Role.admin.value
    target.role = Role.owner.value
    await session.flush()
    for membership in (old, target):
        await _member_event(session, membership, name="member.updated", actor_id=user_id)
    return await _view(session, access.project, Role.admin)
