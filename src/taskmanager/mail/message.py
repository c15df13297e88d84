"""Build the RFC 5322 message of a mail: a plain-text body and its HTML alternative."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import urlsplit

from taskmanager.config import Settings


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    # Extra headers (List-Unsubscribe of notification mails); never From/To/Subject.
    headers: dict[str, str] = field(default_factory=dict)


def compose(
    to: str,
    subject: str,
    paragraphs: list[str],
    *,
    link: str | None = None,
    link_label: str = "",
    footer: str = "",
) -> Mail:
    """A short mail: paragraphs, an optional button-like link, a footer; both bodies say
    the same (plain text for clients that show no HTML, and for the tests)."""
    text_parts = [*paragraphs]
    html_parts = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if link is not None:
        text_parts.append(f"{link_label}:\n{link}")
        html_parts.append(
            f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link_label)}</a></p>'
            f"<p>Or paste this address into your browser: {html.escape(link)}</p>"
        )
    if footer:
        text_parts.append(footer)
        html_parts.append(f'<p style="color:#666">{html.escape(footer)}</p>')
    page = (
        '<!doctype html><html><body style="font-family:sans-serif">'
        + "".join(html_parts)
        + "</body></html>"
    )
    # A user-chosen name (a project's, a person's) may hold line breaks: never in a header.
    subject = " ".join(subject.split())
    return Mail(to=to, subject=subject, text="\n\n".join(text_parts) + "\n", html=page)


def public_link(settings: Settings, path: str, token: str) -> str:
    """A link into the board, from PUBLIC_BASE_URL only; the token rides in the fragment,
    which browsers never send to a server (no token in access logs or Referer headers)."""
    return f"{settings.public_base_url}{path}#token={token}"


def to_message(settings: Settings, mail: Mail, *, message_key: str) -> EmailMessage:
    """The message; `message_key` (the job id) makes a resend carry the same Message-ID."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    host = urlsplit(settings.public_base_url).hostname or "localhost"
    message["Message-ID"] = f"<{message_key}@{host}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message
