"""tasks in depth: subtasks, relations, recurrence, my-work index, calendar feeds

Revision ID: 20261201_tasks_depth
Revises: 20261201_oidc
Create Date: 2026-12-01 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261201_tasks_depth"
down_revision: str | None = "20261201_oidc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch mode: SQLite cannot add a foreign key to an existing table otherwise.
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("parent_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("recurrence", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("recurrence_of", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            "fk_tasks_parent_id_tasks", "tasks", ["parent_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_foreign_key(
            "fk_tasks_recurrence_of_tasks", "tasks", ["recurrence_of"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_tasks_assignee_due", ["assignee_id", "due_at", "id"])
        batch.create_index("ix_tasks_parent", ["parent_id"])
        batch.create_index("uq_tasks_recurrence_of", ["recurrence_of"], unique=True)
    op.create_table(
        "task_relations",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["source_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["target_id"], ["tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_relations")),
        sa.UniqueConstraint("source_id", "target_id", "kind", name="uq_task_relations_pair"),
    )
    op.create_index("ix_task_relations_target", "task_relations", ["target_id"])
    op.create_table(
        "calendar_feeds",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_feeds")
    op.drop_index("ix_task_relations_target", table_name="task_relations")
    op.drop_table("task_relations")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_index("uq_tasks_recurrence_of")
        batch.drop_index("ix_tasks_parent")
        batch.drop_index("ix_tasks_assignee_due")
        batch.drop_constraint("fk_tasks_recurrence_of_tasks", type_="foreignkey")
        batch.drop_constraint("fk_tasks_parent_id_tasks", type_="foreignkey")
        batch.drop_column("recurrence_of")
        batch.drop_column("recurrence")
        batch.drop_column("parent_id")
