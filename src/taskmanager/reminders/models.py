"""Which reminder was sent for which moment: the once-only record of the sweep."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from taskmanager.db import Base, utcnow


class TaskReminderSent(Base):
    """One row per (task, kind, moment) a reminder went out for.

    The primary key is the once-only guarantee: a sweep inserts the rows it means to send
    with ON CONFLICT DO NOTHING and notifies only for those it actually inserted, so two
    sweeps racing (or one repeated after a crash) send each reminder once. A changed date
    is a new moment, hence a new row and a new reminder.
    """

    __tablename__ = "task_reminders_sent"
    # Old rows are pruned by the moment (see reminders.service.prune_sent).
    __table_args__ = (Index("ix_task_reminders_sent_at", "at"),)

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The moment the reminder was for: due_at - 24 h for due_soon, remind_at for reminder.
    at: Mapped[dt.datetime] = mapped_column(primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
