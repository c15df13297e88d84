"""The attachments table: one row per stored file; the bytes live in the storage backend."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, UUIDPrimaryKey, utcnow


class Attachment(UUIDPrimaryKey, Base):
    __tablename__ = "attachments"
    # A task's list (keyset, oldest first) and the account's uploads (deleted with it).
    __table_args__ = (
        Index("ix_attachments_task_created", "task_id", "created_at", "id"),
        Index("ix_attachments_created_by", "created_by"),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # An account's uploads go with the account (rows by cascade, bytes by a purge job).
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # Where the bytes are in the storage backend: "<project_id>/<task_id>/<id>".
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
