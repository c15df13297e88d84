"""A real SMTP server (aiosmtpd) and the outbox directory, as places tests read mail from."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.processes import free_port

TOKEN_LINK = re.compile(r"(https?://\S+?)#token=([A-Za-z0-9_\-]+)")


def parse(raw: bytes) -> EmailMessage:
    return message_from_bytes(raw, policy=policy.default)


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return cast(str, cast(EmailMessage, part).get_content())


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no text/html part"
    return cast(str, cast(EmailMessage, part).get_content())


def link_token(message: EmailMessage) -> tuple[str, str]:
    """The (page address, token) of the link in a mail's text body."""
    found = TOKEN_LINK.search(text_body(message))
    assert found is not None, f"no link with a token in: {text_body(message)}"
    return found.group(1), found.group(2)


class _Collect:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append(parse(content))
        return "250 Message accepted for delivery"


class Mailbox:
    """Mail that arrived, from an SMTP server or an outbox directory; waits for it."""

    def __init__(
        self,
        *,
        smtp: _Collect | None = None,
        outbox: Path | None = None,
        controller: Controller | None = None,
    ) -> None:
        self._smtp = smtp
        self.controller = controller
        self._outbox = outbox
        self._parsed: dict[str, EmailMessage] = {}  # outbox files are written once

    def all(self) -> list[EmailMessage]:
        if self._smtp is not None:
            return list(self._smtp.messages)
        assert self._outbox is not None
        files = sorted(self._outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        for path in files:
            if path.name not in self._parsed:
                self._parsed[path.name] = parse(path.read_bytes())
        return [self._parsed[path.name] for path in files]

    def to(self, address: str, subject: str | None = None) -> list[EmailMessage]:
        return [
            m
            for m in self.all()
            if str(m["To"]).lower() == address.lower()
            and (subject is None or subject.lower() in str(m["Subject"]).lower())
        ]

    async def wait_for(
        self, address: str, subject: str | None = None, *, count: int = 1, timeout: float = 10
    ) -> EmailMessage:
        """The newest mail to `address` (with `subject` in its subject) once `count` came."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address, subject)
            if len(found) >= count:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no mail to {address} ({subject}) within {timeout} s; got "
                    f"{[(str(m['To']), str(m['Subject'])) for m in self.all()]}"
                )
            await asyncio.sleep(0.05)


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[tuple[Mailbox, int]]:
    """An aiosmtpd server on a free loopback port (in its own thread, as aiosmtpd runs)."""
    collect = _Collect()
    port = free_port()
    controller = Controller(collect, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    mailbox = Mailbox(smtp=collect, controller=controller)
    try:
        yield mailbox, port
    finally:
        if mailbox.controller is not None:
            mailbox.controller.stop()
