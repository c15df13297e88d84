"""Tasks and their labels."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from taskmanager.db import Base, UUIDPrimaryKey, utcnow
from taskmanager.labels.models import Label

PRIORITIES = ("none", "low", "medium", "high", "urgent")
PRIORITY_RANK = {name: rank for rank, name in enumerate(PRIORITIES)}
STATUSES = ("todo", "in_progress", "done")

task_labels = Table(
    "task_labels",
    Base.metadata,
    Column("task_id", ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True),
    Column("label_id", ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True),
)

# Fractional keys compare bytewise: never a locale collation on PostgreSQL.
PositionType = String().with_variant(String(collation="C"), "postgresql")


class Task(UUIDPrimaryKey, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("project_id", "status", "position", name="uq_tasks_column_position"),
        Index("ix_tasks_project_position", "project_id", "position", "id"),
        Index("ix_tasks_project_created", "project_id", "created_at", "id"),
        Index("ix_tasks_project_updated", "project_id", "updated_at", "id"),
        Index("ix_tasks_project_due", "project_id", "due_at", "id"),
        Index("ix_tasks_project_priority", "project_id", "priority_rank", "id"),
        Index("ix_tasks_project_assignee", "project_id", "assignee_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    # Stored as a rank so that sorting by priority is by importance, not alphabetical.
    priority_rank: Mapped[int] = mapped_column(SmallInteger, default=0)
    position: Mapped[str] = mapped_column(PositionType)
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    labels: Mapped[list[Label]] = relationship(
        secondary=task_labels, lazy="raise", order_by=Label.name
    )

    @property
    def priority(self) -> str:
        return PRIORITIES[self.priority_rank]
