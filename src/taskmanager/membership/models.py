"""Projects and their members."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taskmanager.auth.models import User
from taskmanager.db import Base, UUIDPrimaryKey, utcnow


class Project(UUIDPrimaryKey, Base):
    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    archived: Mapped[bool] = mapped_column(default=False)
    # The seq of the project's latest event: bumped with UPDATE ... RETURNING in the
    # writer's transaction, so seqs are gap-free and in commit order.
    event_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Enabled webhook endpoints: read by the same statement that bumps event_seq, so a
    # write in a project without webhooks costs nothing more.
    webhook_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "project_members"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(lazy="raise")
