"""The text of a notification mail or digest: one line per notification, with its link."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, select, table
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from taskmanager.auth.models import User
from taskmanager.config import Settings
from taskmanager.mail.message import Mail
from taskmanager.membership.models import Project
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.models import Notification

# The tasks table named, not imported: tasks/ imports notifications/ to notify, and an
# import back would be a cycle; the title is all a mail needs of it.
_tasks = table("tasks", column("id"), column("title"))
MAX_LISTED = 50


@dataclass(frozen=True, slots=True)
class Item:
    kind: NotificationKind
    created_at: dt.datetime
    project_id: uuid.UUID | None
    project: str | None
    task: str | None
    actor: str | None
    data: dict[str, Any]


async def load_items(session: AsyncSession, ids: list[uuid.UUID]) -> list[Item]:
    """The notifications still unread, oldest first, with the names a reader needs."""
    actor = aliased(User)
    rows = await session.execute(
        select(
            Notification.kind,
            Notification.created_at,
            Notification.project_id,
            Project.name,
            _tasks.c.title,
            actor.display_name,
            Notification.data,
        )
        .outerjoin(Project, Project.id == Notification.project_id)
        .outerjoin(_tasks, _tasks.c.id == Notification.task_id)
        .outerjoin(actor, actor.id == Notification.actor_id)
        .where(Notification.id.in_(ids), Notification.read_at.is_(None))
        .order_by(Notification.created_at, Notification.id)
    )
    return [
        Item(NotificationKind(kind), created, pid, pname, title, actor_name, data or {})
        for kind, created, pid, pname, title, actor_name, data in rows.all()
    ]


def describe(item: Item) -> str:
    """One sentence: who did what to which task, in which project."""
    who = item.actor or "Someone"
    task = f"“{item.task or item.data.get('title') or 'a task'}”"
    where = f" in {item.project}" if item.project else ""
    match item.kind:
        case NotificationKind.ASSIGNED:
            return f"{who} assigned you {task}{where}"
        case NotificationKind.MENTIONED:
            return f"{who} mentioned you on {task}{where}"
        case NotificationKind.COMMENTED:
            return f"{who} commented on {task}{where}"
        case NotificationKind.DUE_SOON:
            return f"{task}{where} is due soon"
        case NotificationKind.REMINDER:
            return f"Reminder: {task}{where}"
        case NotificationKind.INVITED:
            return f"{who} invited you to {item.project or 'a project'}"
        case NotificationKind.WEBHOOK_DISABLED:
            return f"A webhook of {item.project or 'a project'} was disabled after failing"


def link(settings: Settings, item: Item) -> str:
    """Into the board, from PUBLIC_BASE_URL: the project, or the invitations inbox."""
    if item.kind is NotificationKind.INVITED or item.project_id is None:
        return f"{settings.public_base_url}/"
    return f"{settings.public_base_url}/#/p/{item.project_id}"


def compose_notifications(
    settings: Settings,
    *,
    to: str,
    name: str,
    items: list[Item],
    digest: bool,
    unsubscribe: str,
    unsubscribe_what: str,
) -> Mail:
    listed, more = items[:MAX_LISTED], len(items) - MAX_LISTED
    if digest:
        subject = f"Your daily summary: {len(items)} notification{'s' if len(items) > 1 else ''}"
        intro = "Here is what happened in the last day that you have not read yet:"
    elif len(items) == 1:
        subject = describe(items[0])
        intro = "You have a new notification:"
    else:
        subject = f"{len(items)} new notifications"
        intro = f"You have {len(items)} new notifications:"
    board = f"{settings.public_base_url}/"
    settings_note = (
        "You get these mails because of your notification settings (Profile, on the board)."
    )
    lines = [f"Hello {name},", intro, ""]
    parts = [f"<p>{html.escape(f'Hello {name},')}</p><p>{html.escape(intro)}</p><ul>"]
    for item in listed:
        text, href = describe(item), link(settings, item)
        stamp = item.created_at.strftime("%Y-%m-%d %H:%M UTC")
        lines.append(f"- {text} ({stamp})\n  {href}")
        parts.append(
            f'<li><a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'
            f' <span style="color:#666">{stamp}</span></li>'
        )
    parts.append("</ul>")
    if more > 0:
        lines.append(f"... and {more} more on the board: {board}")
        parts.append(
            f'<p>… and {more} more <a href="{html.escape(board, quote=True)}">on the board</a>.</p>'
        )
    lines += ["", settings_note, f"Stop {unsubscribe_what}: {unsubscribe}"]
    parts.append(
        f'<p style="color:#666">{html.escape(settings_note)} '
        f'<a href="{html.escape(unsubscribe, quote=True)}">Stop {html.escape(unsubscribe_what)}'
        "</a></p>"
    )
    page = (
        '<!doctype html><html><body style="font-family:sans-serif">'
        + "".join(parts)
        + "</body></html>"
    )
    return Mail(
        to=to,
        subject=" ".join(subject.split()),  # a task title may hold line breaks: never a header
        text="\n".join(lines) + "\n",
        html=page,
        headers={
            # RFC 2369 + RFC 8058: mail clients offer a one-click "unsubscribe" that POSTs
            # `List-Unsubscribe=One-Click` to this URL.
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
