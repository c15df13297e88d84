"""The durable per-project event log (the transactional outbox of the real-time layer)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Event(Base):
    __tablename__ = "events"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(32))
    # No foreign key: the log outlives users, it is history.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
