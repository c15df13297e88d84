"""HTTP routes of projects and members."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.projects import service
from taskmanager.projects.schemas import (
    MemberRead,
    MemberUpdate,
    OwnershipTransfer,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)

ARCHIVED_NOTE = (
    " An archived project is read-only: writes to it (tasks, labels, comments, its name and"
    " description) get 409 `project_archived` until an admin or the owner sends"
    ' `PATCH {"archived": false}`. Members can still be managed and the project deleted.'
)

router = APIRouter(prefix="/projects", tags=["projects"], responses=problems(*AUTHENTICATED))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a project (you become its owner)",
    responses=problems(*JSON_BODY, 403, 409),
)
async def create_project(
    body: ProjectCreate, principal: CurrentUser, db: SessionDep
) -> ProjectRead:
    return ProjectRead.of(await service.create_project(db, user_id=principal.id, data=body))


@router.get("", summary="Projects you are a member of, newest first", responses=problems(422))
async def list_projects(
    principal: CurrentUser,
    db: SessionDep,
    page: PageDep,
) -> Page[ProjectRead]:
    items, next_cursor = await service.list_projects(db, user_id=principal.id, page=page)
    return Page(items=[ProjectRead.of(view) for view in items], next_cursor=next_cursor)


@router.get(
    "/{project_id}",
    summary="One project, with your role and task counts",
    responses=problems(404, 422),
)
async def get_project(project_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> ProjectRead:
    return ProjectRead.of(
        await service.get_project(db, project_id=project_id, user_id=principal.id)
    )


@router.patch(
    "/{project_id}",
    summary="Rename, describe, archive or unarchive (admin, owner)",
    description="Admin or owner." + ARCHIVED_NOTE,
    responses=problems(*JSON_BODY, 403, 404, 409, notes={409: "Project is archived"}),
)
async def update_project(
    project_id: uuid.UUID, body: ProjectUpdate, principal: CurrentUser, db: SessionDep
) -> ProjectRead:
    view = await service.update_project(db, project_id=project_id, user_id=principal.id, data=body)
    return ProjectRead.of(view)


@router.delete(
    "/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete the project and everything in it (owner)",
    responses=problems(403, 404, 422),
)
async def delete_project(project_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> None:
    await service.delete_project(db, project_id=project_id, user_id=principal.id)


@router.post(
    "/{project_id}/transfer",
    summary="Make another member the owner (owner); you become an admin",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def transfer_ownership(
    project_id: uuid.UUID, body: OwnershipTransfer, principal: CurrentUser, db: SessionDep
) -> ProjectRead:
    view = await service.transfer_ownership(
        db, project_id=project_id, user_id=principal.id, new_owner_id=body.user_id
    )
    return ProjectRead.of(view)


MEMBER_RULES = (
    "People join by invitation (POST /projects/{id}/invitations). Admins and the owner"
    " manage members; only the owner grants, changes or revokes the admin"
    " role; the owner's own role changes only through /transfer. Anyone but the owner may"
    " remove themselves (leave). Removing a member unassigns their tasks."
)


@router.get(
    "/{project_id}/members", summary="Members and their roles", responses=problems(404, 422)
)
async def list_members(
    project_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> list[MemberRead]:
    members = await service.list_members(db, project_id=project_id, user_id=principal.id)
    return [MemberRead.of(m) for m in members]


@router.patch(
    "/{project_id}/members/{user_id}",
    summary="Change a member's role",
    description=MEMBER_RULES,
    responses=problems(*JSON_BODY, 403, 404),
)
async def update_member(
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    body: MemberUpdate,
    principal: CurrentUser,
    db: SessionDep,
) -> MemberRead:
    membership = await service.update_member(
        db, project_id=project_id, user_id=principal.id, member_id=user_id, data=body
    )
    return MemberRead.of(membership)


@router.delete(
    "/{project_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a member, or leave",
    description=MEMBER_RULES,
    responses=problems(403, 404, 422),
)
async def remove_member(
    project_id: uuid.UUID, user_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> None:
    await service.remove_member(db, project_id=project_id, user_id=principal.id, member_id=user_id)
