"""A task's derived fields (subtask counts, relations from both ends), a page at a time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from taskmanager.tasks.models import INVERSE_KIND, Task, TaskExtras, TaskRelation

_child = aliased(Task, name="child")
_rel = aliased(TaskRelation, name="rel")

# Correlated counts (an index lookup on ix_tasks_parent each), selected with the task's
# own columns on both backends, so they never cost a statement of their own.
SUBTASK_TOTAL = (
    select(func.count()).where(_child.parent_id == Task.id).scalar_subquery().label("subtask_total")
)
SUBTASK_DONE = (
    select(func.count())
    .where(_child.parent_id == Task.id, _child.status == "done")
    .scalar_subquery()
    .label("subtask_done")
)
_outgoing = _rel.source_id == Task.id
# PostgreSQL: the relations as one JSON column (ordered by id, as `relations_of` orders
# them), so GET and the list keep their single statement.
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
Relation = dict[str, Any]


async def relations_of(
    session: AsyncSession, task_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Relation]]:
    """Each task's relations as seen from it, ordered by relation id, in one query."""
    found: dict[uuid.UUID, list[Relation]] = {task_id: [] for task_id in task_ids}
    if not task_ids:
        return found
    rows = await session.execute(
        select(TaskRelation.id, TaskRelation.kind, TaskRelation.source_id, TaskRelation.target_id)
        .where(or_(TaskRelation.source_id.in_(task_ids), TaskRelation.target_id.in_(task_ids)))
        .order_by(TaskRelation.id)
    )
    for relation_id, kind, source_id, target_id in rows:
        if source_id in found:
            found[source_id].append({"id": relation_id, "kind": kind, "task_id": target_id})
        if target_id in found:
            found[target_id].append(
                {"id": relation_id, "kind": INVERSE_KIND[kind], "task_id": source_id}
            )
    return found


async def load_extras(session: AsyncSession, tasks: Sequence[Task]) -> None:
    """Set `extras` on ORM tasks before TaskRead renders them (events, write responses): one
    statement on PostgreSQL, two on SQLite."""
    if not tasks:
        return
    ids = [task.id for task in tasks]
    postgres = session.get_bind().dialect.name == "postgresql"
    columns: list[Any] = [Task.id, SUBTASK_TOTAL, SUBTASK_DONE]
    if postgres:
        columns.append(RELATIONS_JSON)
    rows = {row[0]: row for row in await session.execute(select(*columns).where(Task.id.in_(ids)))}
    relations = {} if postgres else await relations_of(session, ids)
    for task in tasks:
        row = rows[task.id]
        task.extras = TaskExtras(
            {"total": row[1], "done": row[2]},
            (row[3] or []) if postgres else relations[task.id],
        )
