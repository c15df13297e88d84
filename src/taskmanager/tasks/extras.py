"""A task's derived fields (subtask counts, relations from both ends), a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from taskmanager.tasks.models import INVERSE_KIND, Task, TaskExtras, TaskRelation

_child = aliased(Task, name="child")
_rel = aliased(TaskRelation, name="rel")

# PostgreSQL: correlated JSON columns, so GET and the list keep their single statement
# (index lookups on ix_tasks_parent and the two ends of task_relations).
COUNTS_JSON = (
    select(
        func.json_build_object(
            "total", func.count(), "done", func.count().filter(_child.status == "done")
        )
    )
    .where(_child.parent_id == Task.id)
    .scalar_subquery()
    .label("subtask_counts_json")
)
_outgoing = _rel.source_id == Task.id
RELATIONS_JSON = (
    select(
        func.json_agg(
            aggregate_order_by(
                func.json_build_object(
                    "id",
                    _rel.id,
                    "kind",
                    case((_outgoing, _rel.kind), else_=case(INVERSE_KIND, value=_rel.kind)),
                    "task_id",
                    case((_outgoing, _rel.target_id), else_=_rel.source_id),
                ),
                _rel.id,
            )
        )
    )
    .where(or_(_outgoing, _rel.target_id == Task.id))
    .scalar_subquery()
    .label("relations_json")
)
Extras = tuple[dict[str, int], list[dict[str, Any]]]


def from_json(counts: dict[str, int] | None, relations: list[dict[str, Any]] | None) -> Extras:
    """The two JSON columns as decoded by asyncpg (a task without relations has NULL)."""
    return counts or {"total": 0, "done": 0}, relations or []


async def extras_of(
    session: AsyncSession, task_ids: Sequence[uuid.UUID], *, top_level: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Extras]:
    """Counts and relations of these tasks: one statement on PostgreSQL, at most two on SQLite.

    `top_level`: the ids among them that may have subtasks (a subtask never has any).
    """
    found: dict[uuid.UUID, Extras] = {tid: ({"total": 0, "done": 0}, []) for tid in task_ids}
    if not task_ids:
        return found
    if session.get_bind().dialect.name == "postgresql":
        rows = await session.execute(
            select(Task.id, COUNTS_JSON, RELATIONS_JSON).where(Task.id.in_(task_ids))
        )
        for task_id, counts, relations in rows:
            found[task_id] = from_json(counts, relations)
        return found
    if top_level:
        counted = await session.execute(
            select(Task.parent_id, Task.status, func.count())
            .where(Task.parent_id.in_(top_level))
            .group_by(Task.parent_id, Task.status)
        )
        for parent_id, status, count in counted:
            counts = found[cast(uuid.UUID, parent_id)][0]
            counts["total"] += count
            if status == "done":
                counts["done"] += count
    wanted = set(task_ids)
    related = await session.execute(
        select(TaskRelation.id, TaskRelation.kind, TaskRelation.source_id, TaskRelation.target_id)
        .where(or_(TaskRelation.source_id.in_(task_ids), TaskRelation.target_id.in_(task_ids)))
        .order_by(TaskRelation.id)
    )
    for relation_id, kind, source_id, target_id in related:
        if source_id in wanted:
            found[source_id][1].append({"id": relation_id, "kind": kind, "task_id": target_id})
        if target_id in wanted:
            found[target_id][1].append(
                {"id": relation_id, "kind": INVERSE_KIND[kind], "task_id": source_id}
            )
    return found


async def load_extras(session: AsyncSession, tasks: Sequence[Task]) -> None:
    """Set `extras` on ORM tasks before TaskRead renders them (events, write responses)."""
    found = await extras_of(
        session,
        [task.id for task in tasks],
        top_level=[task.id for task in tasks if task.parent_id is None],
    )
    for task in tasks:
        counts, relations = found[task.id]
        task.extras = TaskExtras(counts, relations)
