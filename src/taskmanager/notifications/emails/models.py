"""A user's e-mail choices for notifications, and the machinery's per-user mail state."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


class NotificationSettings(Base):
    """What the user chose; no row means every default (see preferences.DEFAULT_EMAIL)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Only the kinds the user set ({"commented": true}); a kind added later gets its default.
    email: Mapped[dict[str, bool]] = mapped_column(JSONType, default=dict)
    digest: Mapped[str] = mapped_column(String(8), default="off")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationMailState(Base):
    """One row per user who was ever due a notification mail; its row lock orders the
    notify transactions and the mail job of one user (see schedule.py)."""

    __tablename__ = "notification_mail_state"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # When the pending mail job runs; None: no job is pending (the next notification makes one).
    job_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The last mail + NOTIFICATION_MAIL_INTERVAL_SECONDS: no notification mail before then.
    # Set by the mail job, which has the settings; notify() only compares with it.
    quiet_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The UTC day of the last daily digest: a digest job that runs twice mails once.
    last_digest_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
