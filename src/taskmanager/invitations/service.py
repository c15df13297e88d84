"""Invitation rules: who may invite, revoke, accept and decline, and what each changes."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.accounts.tokens import InvalidToken, hash_token
from taskmanager.auth.models import User
from taskmanager.auth.service import normalize_email
from taskmanager.db import utcnow
from taskmanager.errors import Conflict, Forbidden, NotFound
from taskmanager.events.service import append_event
from taskmanager.invitations.models import (
    ACCEPTED,
    DECLINED,
    EXPIRED,
    PENDING,
    REVOKED,
    Invitation,
)
from taskmanager.invitations.schemas import InvitationCreate, InvitationRead
from taskmanager.jobs.queue import enqueue
from taskmanager.membership.access import ProjectNotFound, Role, require_role
from taskmanager.membership.models import Membership, Project
from taskmanager.notifications import triggers
from taskmanager.projects.schemas import MemberRead
from taskmanager.projects.service import MemberExists

INVITATION_TTL = dt.timedelta(days=7)
INVITATION_MAIL = "invitations.mail"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"

    def __init__(self) -> None:
        super().__init__("No such invitation.")


class InvitationClosed(Conflict):
    code = "invitation_closed"

    def __init__(self, status: str) -> None:
        super().__init__(f"This invitation is {status}; it can no longer be answered.")


class NotTheInvitee(Forbidden):
    code = "not_invitee"

    def __init__(self) -> None:
        super().__init__(
            "This invitation is for another e-mail address, or yours is not verified yet: "
            "sign in with the invited address and confirm it first."
        )


def status_of(invitation: Invitation, now: dt.datetime | None = None) -> str:
    if invitation.status == PENDING and invitation.expires_at <= (now or utcnow()):
        return EXPIRED
    return invitation.status


def _read(invitation: Invitation, project_name: str) -> InvitationRead:
    return InvitationRead(
        id=invitation.id,
        project_id=invitation.project_id,
        project_name=project_name,
        email=invitation.email,
        role=invitation.role,
        status=status_of(invitation),
        invited_by=invitation.invited_by,
        expires_at=invitation.expires_at,
        created_at=invitation.created_at,
    )


async def invite(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, data: InvitationCreate
) -> InvitationRead:
    """The same answer whether or not the address has an account (nothing is looked up);
    a newer invitation of the same address replaces a pending one."""
    access = await require_role(
        session, project_id, user_id, minimum=Role.admin, write=True, allow_archived=True
    )
    if data.role == Role.admin and access.role != Role.owner:
        raise Forbidden("Only the owner can grant the admin role.")
    email = normalize_email(data.email)
    now = utcnow()
    await session.execute(
        update(Invitation)
        .where(
            Invitation.project_id == project_id,
            Invitation.email == email,
            Invitation.status == PENDING,
        )
        .values(status=REVOKED, responded_at=now, token_hash=None)
    )
    invitation = Invitation(
        project_id=project_id,
        email=email,
        role=data.role,
        invited_by=user_id,
        created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    session.add(invitation)
    await session.flush()
    await enqueue(session, INVITATION_MAIL, {"invitation_id": str(invitation.id)})
    await triggers.invited(
        session,
        actor_id=user_id,
        project_id=project_id,
        project_name=access.project.name,
        invitation_id=invitation.id,
        email=email,
        role=str(data.role),
    )
    return _read(invitation, access.project.name)


async def list_for_project(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID
) -> list[InvitationRead]:
    access = await require_role(session, project_id, user_id, minimum=Role.admin)
    rows = await session.scalars(
        select(Invitation)
        .where(
            Invitation.project_id == project_id,
            Invitation.status == PENDING,
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at, Invitation.id)
    )
    return [_read(i, access.project.name) for i in rows]


async def revoke(session: AsyncSession, *, invitation_id: uuid.UUID, user_id: uuid.UUID) -> None:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None:
        raise InvitationNotFound()
    try:
        await require_role(
            session,
            invitation.project_id,
            user_id,
            minimum=Role.admin,
            write=True,
            allow_archived=True,
        )
    except ProjectNotFound:
        raise InvitationNotFound() from None  # another team's invitation is not disclosed
    status = status_of(invitation)
    if status != PENDING:
        raise InvitationClosed(status)
    invitation.status = REVOKED
    invitation.responded_at = utcnow()
    invitation.token_hash = None
    await session.flush()


async def list_mine(session: AsyncSession, user: User) -> list[InvitationRead]:
    """Pending invitations to my e-mail, once it is verified (before that, anyone could
    register with an address and see what it was invited to)."""
    if not user.email_verified:
        return []
    rows = await session.execute(
        select(Invitation, Project.name)
        .join(Project, Project.id == Invitation.project_id)
        .where(
            Invitation.email == user.email,
            Invitation.status == PENDING,
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at, Invitation.id)
    )
    return [_read(invitation, name) for invitation, name in rows]


async def _addressed_to(
    session: AsyncSession, user: User, *, token: str | None, invitation_id: uuid.UUID | None
) -> Invitation:
    if token is not None:
        invitation = await session.scalar(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        )
        if invitation is None or status_of(invitation) != PENDING:
            raise InvalidToken()
    else:
        invitation = await session.get(Invitation, invitation_id)
        if invitation is None:
            raise InvitationNotFound()
    if invitation.email != user.email or not user.email_verified:
        raise NotTheInvitee()
    status = status_of(invitation)
    if status != PENDING:
        raise InvitationClosed(status)
    return invitation


async def accept(
    session: AsyncSession, user: User, *, token: str | None, invitation_id: uuid.UUID | None
) -> Membership:
    """Join the project the invitation is for; the membership comes with its user loaded."""
    invitation = await _addressed_to(session, user, token=token, invitation_id=invitation_id)
    # The project's write lock, as every membership change takes it (see require_role).
    await session.execute(
        select(Project.id)
        .where(Project.id == invitation.project_id)
        .with_for_update(key_share=True)
    )
    existing = await session.scalar(
        select(Membership.user_id).where(
            Membership.project_id == invitation.project_id, Membership.user_id == user.id
        )
    )
    if existing is not None:
        raise MemberExists()
    membership = Membership(project_id=invitation.project_id, user_id=user.id, role=invitation.role)
    session.add(membership)
    invitation.status = ACCEPTED
    invitation.responded_at = utcnow()
    invitation.token_hash = None
    await session.flush()
    membership.user = user
    await append_event(
        session,
        project_id=invitation.project_id,
        name="member.added",
        actor_id=user.id,
        data=MemberRead.of(membership).model_dump(mode="json"),
    )
    return membership


async def decline(session: AsyncSession, user: User, *, invitation_id: uuid.UUID) -> None:
    invitation = await _addressed_to(session, user, token=None, invitation_id=invitation_id)
    invitation.status = DECLINED
    invitation.responded_at = utcnow()
    invitation.token_hash = None
    await session.flush()
