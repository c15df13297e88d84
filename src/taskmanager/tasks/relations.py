"""Relations between tasks of one project (blocks, relates_to, duplicates), seen from both ends."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from taskmanager.db import utcnow
from taskmanager.errors import Conflict, NotFound, ValidationFailed
from taskmanager.membership.access import Role
from taskmanager.tasks.changes import save_tasks
from taskmanager.tasks.models import Task, TaskRelation
from taskmanager.tasks.schemas import RelationCreate
from taskmanager.tasks.service import task_access


class RelationNotFound(NotFound):
    code = "relation_not_found"

    def __init__(self) -> None:
        super().__init__("Relation not found.")


class RelationExists(Conflict):
    code = "relation_exists"

    def __init__(self) -> None:
        super().__init__("These tasks are already related this way.")


class BlocksCycle(ValidationFailed):
    code = "cycle"

    def __init__(self) -> None:
        super().__init__(
            "body.task_id: that task already blocks this one (directly or through others).",
            errors=[
                {"loc": ["body", "task_id"], "msg": "A `blocks` relation may not form a cycle."}
            ],
        )


async def _blocks_path(
    session: AsyncSession, project_id: uuid.UUID, start: uuid.UUID, goal: uuid.UUID
) -> bool:
    """Whether `start` blocks `goal` through a chain of `blocks` relations (one query: the
    project's blocks edges, walked here; the caller holds the project lock)."""
    edges: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await session.execute(
        select(TaskRelation.source_id, TaskRelation.target_id).where(
            TaskRelation.project_id == project_id, TaskRelation.kind == "blocks"
        )
    )
    for source_id, target_id in rows:
        edges.setdefault(source_id, []).append(target_id)
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        if node == goal:
            return True
        for following in edges.get(node, ()):
            if following not in seen:
                seen.add(following)
                frontier.append(following)
    return False


async def add_relation(
    session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID, data: RelationCreate
) -> TaskRelation:
    """`task_id` <kind> `data.task_id`; both tasks get a `task.updated` event."""
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    if data.task_id == task.id:
        raise ValidationFailed.field(("body", "task_id"), "A task cannot relate to itself.")
    other = await session.scalar(
        select(Task).where(Task.id == data.task_id).options(selectinload(Task.labels))
    )
    if other is None or other.project_id != task.project_id:
        raise ValidationFailed.field(
            ("body", "task_id"), "The related task must be a task of the same project."
        )
    forward = and_(TaskRelation.source_id == task.id, TaskRelation.target_id == other.id)
    backward = and_(TaskRelation.source_id == other.id, TaskRelation.target_id == task.id)
    # relates_to reads the same from both ends, so either direction is the same relation.
    same = forward if data.kind != "relates_to" else or_(forward, backward)
    if await session.scalar(select(TaskRelation.id).where(same, TaskRelation.kind == data.kind)):
        raise RelationExists()
    if data.kind == "blocks" and await _blocks_path(session, task.project_id, other.id, task.id):
        raise BlocksCycle()
    relation = TaskRelation(
        project_id=task.project_id,
        source_id=task.id,
        target_id=other.id,
        kind=data.kind,
        created_by=user_id,
        created_at=utcnow(),
    )
    session.add(relation)
    await session.flush()
    await save_tasks(session, [task, other], name="task.updated", actor_id=user_id)
    return relation


async def delete_relation(
    session: AsyncSession, *, task_id: uuid.UUID, relation_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    """Remove a relation from either of its ends; both tasks get a `task.updated` event."""
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    relation = await session.scalar(
        select(TaskRelation).where(
            TaskRelation.id == relation_id,
            or_(TaskRelation.source_id == task.id, TaskRelation.target_id == task.id),
        )
    )
    if relation is None:
        raise RelationNotFound()
    other_id = relation.target_id if relation.source_id == task.id else relation.source_id
    await session.delete(relation)
    other = (
        await session.scalars(
            select(Task).where(Task.id == other_id).options(selectinload(Task.labels))
        )
    ).one()
    await save_tasks(session, [task, other], name="task.updated", actor_id=user_id)
