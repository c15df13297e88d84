"""HTTP routes of invitations: per project (admins) and for the invitee (/invitations)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from taskmanager.auth.deps import CurrentUser, CurrentUserRow
from taskmanager.db import SessionDep
from taskmanager.invitations import service
from taskmanager.invitations.schemas import InvitationAccept, InvitationCreate, InvitationRead
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.projects.schemas import MemberRead

router = APIRouter(tags=["invitations"], responses=problems(*AUTHENTICATED))


@router.post(
    "/projects/{project_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    summary="Invite someone by e-mail (admin, owner)",
    description="201 with the invitation, the same whether or not the address has an "
    "account; a link to `/invitations#token=...` is mailed. A new invitation of the same "
    "address replaces a pending one. Only the owner may invite admins. Expires in 7 days.",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def invite(
    project_id: uuid.UUID, body: InvitationCreate, principal: CurrentUser, db: SessionDep
) -> InvitationRead:
    return await service.invite(db, project_id=project_id, user_id=principal.id, data=body)


@router.get(
    "/projects/{project_id}/invitations",
    summary="Pending invitations of a project (admin, owner)",
    responses=problems(403, 404, 422),
)
async def list_project_invitations(
    project_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> list[InvitationRead]:
    return await service.list_for_project(db, project_id=project_id, user_id=principal.id)


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke a pending invitation (admin, owner)",
    responses=problems(403, 404, 409, 422, notes={409: "Not pending any more"}),
)
async def revoke_invitation(
    invitation_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> None:
    await service.revoke(db, invitation_id=invitation_id, user_id=principal.id)


@router.get(
    "/invitations",
    summary="Pending invitations to my verified e-mail",
    description="Empty until your e-mail address is verified.",
)
async def my_invitations(user: CurrentUserRow, db: SessionDep) -> list[InvitationRead]:
    return await service.list_mine(db, user)


@router.post(
    "/invitations/accept",
    summary="Accept an invitation: join its project",
    description="With the mailed link's `token` or an `invitation_id` from GET /invitations. "
    "You must be signed in with the invited address, verified (else 403 `not_invitee`). "
    "Emits `member.added`. A bad, used or expired token is a 400 `invalid_token`; an "
    "invitation that is no longer pending a 409 `invitation_closed`; already a member a 409 "
    "`member_exists`.",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def accept_invitation(
    body: InvitationAccept, user: CurrentUserRow, db: SessionDep
) -> MemberRead:
    membership = await service.accept(db, user, token=body.token, invitation_id=body.invitation_id)
    return MemberRead.of(membership)


@router.post(
    "/invitations/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Decline an invitation",
    description="Only the invitee (signed in with the invited, verified address).",
    responses=problems(403, 404, 409, 422),
)
async def decline_invitation(
    invitation_id: uuid.UUID, user: CurrentUserRow, db: SessionDep
) -> None:
    await service.decline(db, user, invitation_id=invitation_id)
