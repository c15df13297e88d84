"""One-time links mailed to a user: password reset and e-mail verification."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, UUIDPrimaryKey, utcnow

RESET = "reset"
VERIFY = "verify"


class EmailToken(UUIDPrimaryKey, Base):
    __tablename__ = "email_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(16))  # reset | verify
    # The address the link went to: the one a verify token proves (a pending new e-mail,
    # or the current one); a reset token is void once the account's e-mail changed.
    email: Mapped[str] = mapped_column(String(320))
    # SHA-256 of the token: the token itself is only in the mail.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
