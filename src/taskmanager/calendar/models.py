"""A user's calendar feed secret (only its hash is stored)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, utcnow


class CalendarFeed(Base):
    __tablename__ = "calendar_feeds"

    # One feed per user: creating a new one replaces (revokes) the old URL.
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
