"""The mail job: mails are queued in the change's transaction and sent by the worker."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.jobs.queue import enqueue
from taskmanager.jobs.registry import JobContext, handler
from taskmanager.mail.message import Mail, to_message
from taskmanager.mail.transport import deliver

SEND_MAIL = "mail.send"


async def queue_mail(session: AsyncSession, mail: Mail) -> None:
    """Send `mail` once this transaction commits (never if it rolls back)."""
    await enqueue(session, SEND_MAIL, asdict(mail))


async def send_now(context: JobContext, mail: Mail) -> None:
    """For handlers that make the mail themselves (a link with a fresh token)."""
    settings = context.resources.settings
    await deliver(
        settings, to_message(settings, mail, message_key=context.job_id), key=context.job_id
    )


@handler(SEND_MAIL)
async def _send(context: JobContext, payload: dict[str, Any]) -> None:
    await send_now(context, Mail(**payload))
