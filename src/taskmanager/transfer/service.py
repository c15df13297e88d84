"""Export a project (JSON, tasks as CSV) and import a plan as a new project in bulk."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.comments.models import Comment
from taskmanager.db import utcnow
from taskmanager.kit.ordering import key_between
from taskmanager.labels.models import Label
from taskmanager.membership.access import Role, require_role
from taskmanager.projects.schemas import Progress, ProjectCreate, ProjectView
from taskmanager.projects.service import create_project
from taskmanager.tasks.models import PRIORITIES, PRIORITY_RANK, Task, TaskRelation, task_labels
from taskmanager.transfer.plan import Plan
from taskmanager.transfer.schemas import EXPORT_FORMAT

OnProgress = Callable[[int, int], None]
"""Called with (rows written, rows in all) after each batch."""

BATCH = 2000
CSV_COLUMNS = (
    "id",
    "title",
    "description",
    "status",
    "priority",
    "due_at",
    "remind_at",
    "assignee_id",
    "parent_id",
    "labels",
    "created_at",
    "updated_at",
)


async def export_project(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID
) -> dict[str, Any]:
    """The project, its labels, tasks (subtasks after their parents), relations and comments
    in the format import reads back (any member may export)."""
    access = await require_role(session, project_id, user_id, minimum=Role.viewer)
    project = access.project
    labels = (
        await session.execute(
            select(Label.id, Label.name, Label.color)
            .where(Label.project_id == project_id)
            .order_by(Label.name)
        )
    ).all()
    tasks = (
        await session.execute(
            select(Task)
            .where(Task.project_id == project_id)
            .order_by(Task.parent_id.is_not(None), Task.status, Task.position, Task.id)
        )
    ).scalars()
    label_rows = await session.execute(
        select(task_labels.c.task_id, task_labels.c.label_id)
        .join(Task, Task.id == task_labels.c.task_id)
        .where(Task.project_id == project_id)
    )
    labels_of: dict[uuid.UUID, list[str]] = {}
    for task_id, label_id in label_rows:
        labels_of.setdefault(task_id, []).append(str(label_id))
    relations = await session.execute(
        select(TaskRelation.kind, TaskRelation.source_id, TaskRelation.target_id)
        .where(TaskRelation.project_id == project_id)
        .order_by(TaskRelation.created_at, TaskRelation.id)
    )
    comments = await session.execute(
        select(Comment.task_id, Comment.body, Comment.created_at)
        .where(Comment.project_id == project_id)
        .order_by(Comment.created_at, Comment.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "project": {"name": project.name, "description": project.description},
        "labels": [{"id": str(i), "name": n, "color": c} for i, n, c in labels],
        "tasks": [
            {
                "id": str(task.id),
                "title": task.title,
                "description": task.description,
                "status": task.status,
                "priority": PRIORITIES[task.priority_rank],
                "due_at": task.due_at.isoformat() if task.due_at else None,
                "remind_at": task.remind_at.isoformat() if task.remind_at else None,
                "parent_id": str(task.parent_id) if task.parent_id else None,
                "recurrence": task.recurrence,
                "label_ids": sorted(labels_of.get(task.id, [])),
            }
            for task in tasks
        ],
        "relations": [
            {"kind": kind, "source_id": str(source), "target_id": str(target)}
            for kind, source, target in relations
        ],
        "comments": [
            {"task_id": str(task_id), "body": body, "created_at": at.isoformat()}
            for task_id, body, at in comments
        ],
    }


async def export_csv(session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID) -> str:
    """The project's tasks as CSV (RFC 4180, a header row; labels by name, `;`-separated)."""
    await require_role(session, project_id, user_id, minimum=Role.viewer)
    label_rows = await session.execute(
        select(task_labels.c.task_id, Label.name)
        .join(Label, Label.id == task_labels.c.label_id)
        .where(Label.project_id == project_id)
        .order_by(Label.name)
    )
    names: dict[uuid.UUID, list[str]] = {}
    for task_id, name in label_rows:
        names.setdefault(task_id, []).append(name)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = await session.execute(
        select(Task).where(Task.project_id == project_id).order_by(Task.status, Task.position)
    )
    for task in rows.scalars():
        writer.writerow(
            [
                task.id,
                _cell(task.title),
                _cell(task.description),
                task.status,
                PRIORITIES[task.priority_rank],
                task.due_at.isoformat() if task.due_at else "",
                task.remind_at.isoformat() if task.remind_at else "",
                task.assignee_id or "",
                task.parent_id or "",
                _cell(";".join(names.get(task.id, []))),
                task.created_at.isoformat(),
                task.updated_at.isoformat(),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell starting with = + - @ is a formula to spreadsheets (CSV injection): quote it.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def _insert(
    session: AsyncSession,
    table: Any,
    rows: Sequence[dict[str, Any]],
    done: list[int],
    total: int,
    progress: OnProgress | None,
) -> None:
    """Bulk Core inserts (executemany) in batches, reporting progress after each."""
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        await session.execute(insert(table), list(batch))
        done[0] += len(batch)
        if progress is not None:
            progress(done[0], total)


async def import_plan(
    session: AsyncSession, *, user_id: uuid.UUID, plan: Plan, progress: OnProgress | None = None
) -> ProjectView:
    """A new project owned by the caller with everything in the plan, in the caller's one
    transaction: a failure anywhere leaves nothing behind."""
    view = await create_project(
        session, user_id=user_id, data=ProjectCreate(name=plan.name, description=plan.description)
    )
    project_id = view.project.id
    now = utcnow()
    label_ids = {key: uuid.uuid4() for key, _, _ in plan.labels}
    task_ids = {task.key: uuid.uuid4() for task in plan.tasks}
    last: dict[str, str | None] = {}
    task_rows: list[dict[str, Any]] = []
    for task in plan.tasks:
        position = key_between(last.get(task.status), None)
        last[task.status] = position
        task_rows.append(
            {
                "id": task_ids[task.key],
                "project_id": project_id,
                "title": task.title,
                "description": task.description,
                "status": task.status,
                "priority_rank": PRIORITY_RANK[task.priority],
                "position": position,
                "due_at": task.due_at,
                "remind_at": task.remind_at,
                "created_by": user_id,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "parent_id": task_ids[task.parent_key] if task.parent_key else None,
                "recurrence": task.recurrence,
            }
        )
    label_rows = [
        {"id": label_ids[key], "project_id": project_id, "name": name, "color": color}
        | {"created_at": now, "updated_at": now}
        for key, name, color in plan.labels
    ]
    link_rows = [
        {"task_id": task_ids[task.key], "label_id": label_ids[key]}
        for task in plan.tasks
        for key in task.label_keys
    ]
    relation_rows = [
        {"id": uuid.uuid4(), "project_id": project_id, "kind": kind, "created_by": user_id}
        | {"source_id": task_ids[source], "target_id": task_ids[target], "created_at": now}
        for kind, source, target in plan.relations
    ]
    comment_rows = [
        {"id": uuid.uuid4(), "task_id": task_ids[key], "project_id": project_id}
        | {"author_id": user_id, "body": body, "created_at": at or now, "updated_at": at or now}
        for key, body, at in plan.comments
    ]
    total = sum(map(len, (label_rows, task_rows, link_rows, relation_rows, comment_rows)))
    done = [0]
    if progress is not None:
        progress(0, total)
    # Parents come before their subtasks in task_rows, so the foreign key holds row by row.
    for table, rows in (
        (Label.__table__, label_rows),
        (Task.__table__, task_rows),
        (task_labels, link_rows),
        (TaskRelation.__table__, relation_rows),
        (Comment.__table__, comment_rows),
    ):
        await _insert(session, table, rows, done, total, progress)
    counts = Counter(row["status"] for row in task_rows)
    return ProjectView(view.project, view.role, Progress(**counts))
