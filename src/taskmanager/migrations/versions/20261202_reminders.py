"""task reminders, dedupe keys of jobs

Revision ID: 20261202_reminders
Revises: 20261202_notifications
Create Date: 2026-12-02 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261202_reminders"
down_revision: str | None = "20261202_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("remind_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tasks_due_at",
        "tasks",
        ["due_at"],
        postgresql_where=sa.text("due_at IS NOT NULL"),
        sqlite_where=sa.text("due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tasks_remind_at",
        "tasks",
        ["remind_at"],
        postgresql_where=sa.text("remind_at IS NOT NULL"),
        sqlite_where=sa.text("remind_at IS NOT NULL"),
    )
    op.create_table(
        "task_reminders_sent",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("task_id", "kind", "at", name=op.f("pk_task_reminders_sent")),
    )
    op.create_index("ix_task_reminders_sent_at", "task_reminders_sent", ["at"])
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("key", sa.String(length=200), nullable=True))
    op.create_index(
        "uq_jobs_waiting_key",
        "jobs",
        ["key"],
        unique=True,
        postgresql_where=sa.text("key IS NOT NULL"),
        sqlite_where=sa.text("key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_jobs_waiting_key", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("key")
    op.drop_index("ix_task_reminders_sent_at", table_name="task_reminders_sent")
    op.drop_table("task_reminders_sent")
    op.drop_index("ix_tasks_remind_at", table_name="tasks")
    op.drop_index("ix_tasks_due_at", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("remind_at")
