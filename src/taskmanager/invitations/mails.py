"""The invitation mail: its job makes the link's token when it runs."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from taskmanager.accounts.tokens import new_token
from taskmanager.auth.models import User
from taskmanager.invitations.models import PENDING, Invitation
from taskmanager.invitations.service import INVITATION_MAIL, status_of
from taskmanager.jobs.registry import JobContext, handler, open_session
from taskmanager.mail.jobs import send_now
from taskmanager.mail.message import compose, public_link
from taskmanager.membership.models import Project


@handler(INVITATION_MAIL)
async def _send_invitation(context: JobContext, payload: dict[str, Any]) -> None:
    settings = context.resources.settings
    async with await open_session(context.resources) as session:
        invitation = await session.get(
            Invitation, uuid.UUID(payload["invitation_id"]), with_for_update=True
        )
        if invitation is None or status_of(invitation) != PENDING:
            return  # revoked, answered or expired before it was mailed
        project_name = await session.scalar(
            select(Project.name).where(Project.id == invitation.project_id)
        )
        inviter = (
            await session.scalar(select(User.display_name).where(User.id == invitation.invited_by))
            or "Someone"
        )
        token, invitation.token_hash = new_token()
        email, role, expires = invitation.email, invitation.role, invitation.expires_at
        await session.commit()
    await send_now(
        context,
        compose(
            email,
            f"{inviter} invited you to {project_name}",
            [
                f"{inviter} invited you to join the project “{project_name}” on Task "
                f"Manager as {role}.",
                "Sign in (or register) with this e-mail address, then accept below. The "
                f"invitation expires on {expires:%Y-%m-%d %H:%M} UTC.",
            ],
            link=public_link(settings, "/invitations", token),
            link_label="See the invitation",
            footer="If you do not want to join, decline it or ignore this mail.",
        ),
    )
