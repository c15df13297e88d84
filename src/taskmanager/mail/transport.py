"""Hand a message to the mail server (SMTP_URL) or write it to the outbox directory."""

from __future__ import annotations

import asyncio
import os
import tempfile
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

import aiosmtplib

from taskmanager.config import Settings


async def deliver(settings: Settings, message: EmailMessage, *, key: str) -> None:
    """Send, or raise (the job is then retried). `key` names the outbox file, so a job
    that runs twice writes one file."""
    if settings.smtp_url is None:
        await asyncio.to_thread(_write_eml, settings.outbox_dir, message, key)
        return
    url = urlsplit(settings.smtp_url.get_secret_value())
    implicit_tls = url.scheme == "smtps"
    await aiosmtplib.send(
        message,
        hostname=url.hostname,
        port=url.port or (465 if implicit_tls else 587),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls,
        # None: STARTTLS when the server offers it, plain otherwise (a local relay).
        start_tls=False if implicit_tls else None,
        timeout=settings.smtp_timeout_seconds,
    )


def _write_eml(directory: Path, message: EmailMessage, key: str) -> None:
    """Written to a temporary file and renamed: a reader never sees half a message."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(fd, "wb") as out:
        out.write(message.as_bytes())
    os.replace(temporary, directory / f"{key}.eml")
