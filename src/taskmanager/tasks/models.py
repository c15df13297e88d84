"""Tasks and their labels."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
        # "My work": one assignee's tasks across projects, keyset ordered by due date.
        Index("ix_tasks_assignee_due", "assignee_id", "due_at", "id"),
        Index("ix_tasks_parent", "parent_id"),
        # The reminder sweep's range scans (reminders.service), over tasks with the date.
        Index(
            "ix_tasks_due_at",
            "due_at",
            postgresql_where=text("due_at IS NOT NULL"),
            sqlite_where=text("due_at IS NOT NULL"),
        ),
        Index(
            "ix_tasks_remind_at",
            "remind_at",
            postgresql_where=text("remind_at IS NOT NULL"),
            sqlite_where=text("remind_at IS NOT NULL"),
        ),
        # At most one next occurrence per recurring task, even when two moves race.
        Index("uq_tasks_recurrence_of", "recurrence_of", unique=True),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    # Stored as a rank so that sorting by priority is by importance, not alphabetical.
    priority_rank: Mapped[int] = mapped_column(SmallInteger, default=0)
    position: Mapped[str] = mapped_column(PositionType)
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # When to remind the assignee and watchers (a `reminder` notification).
    remind_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # One level only (checked by tasks.subtasks); the database cascade is a backstop, the
    # service deletes subtasks itself so that each gets its own task.deleted event.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), default=None
    )
    recurrence: Mapped[str | None] = mapped_column(String(500), default=None)
    recurrence_of: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), default=None
    )

    labels: Mapped[list[Label]] = relationship(
        secondary=task_labels, lazy="raise", order_by=Label.name
    )

    @property
    def priority(self) -> str:
        return PRIORITIES[self.priority_rank]

    # Derived fields of TaskRead, set by tasks.extras before a task is rendered.
    @property
    def extras(self) -> TaskExtras:
        found = self.__dict__.get("_tm_extras")
        if not isinstance(found, TaskExtras):
            raise RuntimeError("tasks.extras has not loaded this task's counts and relations")
        return found

    @extras.setter
    def extras(self, value: TaskExtras) -> None:
        self.__dict__["_tm_extras"] = value

    @property
    def subtask_counts(self) -> dict[str, int]:
        return self.extras.subtask_counts

    @property
    def relations(self) -> list[dict[str, Any]]:
        return self.extras.relations


@dataclass(slots=True)
class TaskExtras:
    subtask_counts: dict[str, int]
    relations: list[dict[str, Any]]

    @classmethod
    def empty(cls) -> TaskExtras:
        return cls({"total": 0, "done": 0}, [])


RELATION_KINDS = ("blocks", "relates_to", "duplicates")
# How a relation reads from its target's end.
INVERSE_KIND = {"blocks": "blocked_by", "relates_to": "relates_to", "duplicates": "duplicated_by"}


class TaskRelation(UUIDPrimaryKey, Base):
    """`source_id` <kind> `target_id`, both tasks of `project_id`."""

    __tablename__ = "task_relations"
    __table_args__ = (
        UniqueConstraint("source_id", "target_id", "kind", name="uq_task_relations_pair"),
        Index("ix_task_relations_target", "target_id"),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    target_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
