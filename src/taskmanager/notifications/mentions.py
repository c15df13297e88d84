"""@mentions in text: what counts as one, and which project members it names.

The rule (docs/api.md says the same):

- `@` starts a mention only at the start of the text or after a character that is not a
  letter, digit, `_` or `@` (so the `@` inside `bob@example.com` is not one);
- `@alice@example.com` names the member with that e-mail address;
- `@"Alice Smith"` names the member whose display name is exactly that (quotes allow
  spaces); `@Alice` is the same for a name without spaces (letters, digits, `_`, and
  `.` or `-` between them; a trailing `.` or `,` ends the mention);
- names and addresses compare case-insensitively; a name that two members share names
  nobody (ambiguous), and only members of the task's project are ever named.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth.models import User
from taskmanager.membership.models import Membership

MAX_MENTIONS = 50  # per text: a paste of a hundred addresses is not a hundred lookups

_MENTION = re.compile(
    r"(?<![\w@])@(?:"
    r'"(?P<quoted>[^"\n]{1,100})"'
    r"|(?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)"
    r"|(?P<word>\w+(?:[.-]\w+)*)"
    r")"
)


@dataclass(frozen=True, slots=True)
class Mentions:
    """The lower-cased e-mail addresses and display names a text mentions."""

    emails: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.emails or self.names)

    def __sub__(self, other: Mentions) -> Mentions:
        return Mentions(self.emails - other.emails, self.names - other.names)


def parse(text: str | None) -> Mentions:
    """The mentions in `text` (no database access; cheap when there is no `@`)."""
    if not text or "@" not in text:
        return Mentions()
    emails: set[str] = set()
    names: set[str] = set()
    for match in _MENTION.finditer(text):
        if match["email"]:
            emails.add(match["email"].lower())
        else:
            name = (match["quoted"] or match["word"]).strip()
            if name:
                names.add(name.lower())
        if len(emails) + len(names) >= MAX_MENTIONS:
            break
    return Mentions(frozenset(emails), frozenset(names))


def mention_filter(mentions: Mentions) -> ColumnElement[bool]:
    """A WHERE clause for users who may be named by `mentions` (to join with members)."""
    clauses: list[ColumnElement[bool]] = []
    if mentions.emails:
        clauses.append(User.email.in_(sorted(mentions.emails)))  # stored lower-cased
    if mentions.names:
        clauses.append(func.lower(User.display_name).in_(sorted(mentions.names)))
    return or_(*clauses) if clauses else false()


def named(mentions: Mentions, candidates: list[tuple[uuid.UUID, str, str]]) -> set[uuid.UUID]:
    """Which of `candidates` ((user_id, email, display_name), project members found by
    `mention_filter`) `mentions` names; a display name shared by two members names none."""
    by_name: dict[str, list[uuid.UUID]] = {}
    found: set[uuid.UUID] = set()
    for user_id, email, display_name in candidates:
        if email.lower() in mentions.emails:
            found.add(user_id)
        by_name.setdefault(display_name.lower(), []).append(user_id)
    for name in mentions.names:
        users = by_name.get(name, [])
        if len(users) == 1:
            found.add(users[0])
    return found


async def resolve(
    session: AsyncSession, *, project_id: uuid.UUID, mentions: Mentions
) -> set[uuid.UUID]:
    """The project's members that `mentions` names: one SELECT, none if it names nobody."""
    if not mentions:
        return set()
    rows = await session.execute(
        select(User.id, User.email, User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id, mention_filter(mentions))
    )
    return named(mentions, [(r[0], r[1], r[2]) for r in rows])
