"""Tasks: validation against the project, ordering keys, versions, and their events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from taskmanager.db import utcnow
from taskmanager.errors import NotFound, PreconditionFailed, ValidationFailed
from taskmanager.events.rows import append_row_event
from taskmanager.events.schemas import EventName
from taskmanager.kit.cascade import Deleting, deleting
from taskmanager.kit.ordering import key_between
from taskmanager.kit.pagination import SortSpec
from taskmanager.labels.models import Label
from taskmanager.membership.access import Access, Role, require_role, row_access
from taskmanager.membership.models import Membership
from taskmanager.notifications import triggers
from taskmanager.tasks.changes import save_tasks
from taskmanager.tasks.extras import load_extras
from taskmanager.tasks.models import PRIORITY_RANK, Task, TaskExtras
from taskmanager.tasks.reads import readable_task_json
from taskmanager.tasks.recurrence import create_next_occurrence
from taskmanager.tasks.schemas import TaskCreate, TaskMove, TaskRead, TaskUpdate
from taskmanager.tasks.subtasks import check_parent, delete_subtasks, delete_task_row


class TaskNotFound(NotFound):
    code = "task_not_found"

    def __init__(self) -> None:
        super().__init__("Task not found.")


class TaskVersionMismatch(PreconditionFailed):
    code = "version_mismatch"

    def __init__(self, current: int) -> None:
        super().__init__(
            f"The task has changed (current version {current}); re-read it and retry.",
            headers={"ETag": f'"{current}"'},
        )


def _sort(name: str, attr: str, column: Any, kind: Any, nullable: bool = False) -> list[SortSpec]:
    return [
        SortSpec(name, attr, column, Task.id, kind, descending=False, nullable=nullable),
        SortSpec("-" + name, attr, column, Task.id, kind, descending=True, nullable=nullable),
    ]


TASK_SORTS: dict[str, SortSpec] = {
    spec.name: spec
    for spec in [
        *_sort("position", "position", Task.position, "str"),
        *_sort("created_at", "created_at", Task.created_at, "datetime"),
        *_sort("updated_at", "updated_at", Task.updated_at, "datetime"),
        *_sort("due_at", "due_at", Task.due_at, "datetime", nullable=True),
        *_sort("priority", "priority_rank", Task.priority_rank, "int"),
    ]
}

# Must stay the exact expression of the trigram index (migration 20261125_0002).
SEARCH_EXPR = func.lower(Task.title.op("||")(literal_column("' '")).op("||")(Task.description))


async def _labels(
    session: AsyncSession, project_id: uuid.UUID, label_ids: Sequence[uuid.UUID]
) -> list[Label]:
    wanted = list(dict.fromkeys(label_ids))
    if not wanted:
        return []
    found = list(
        (
            await session.scalars(
                select(Label)
                .where(Label.project_id == project_id, Label.id.in_(wanted))
                .order_by(Label.name)
            )
        ).all()
    )
    if len(found) != len(wanted):
        raise ValidationFailed.field(
            ("body", "label_ids"), "Every label must exist in this task's project."
        )
    return found


async def _check_assignee(
    session: AsyncSession, project_id: uuid.UUID, assignee_id: uuid.UUID | None
) -> None:
    if assignee_id is None:
        return
    is_member = await session.scalar(
        select(
            exists().where(Membership.project_id == project_id, Membership.user_id == assignee_id)
        )
    )
    if not is_member:
        raise ValidationFailed.field(
            ("body", "assignee_id"), "The assignee must be a member of the project."
        )


async def _end_of_column(session: AsyncSession, project_id: uuid.UUID, status: str) -> str:
    last = await session.scalar(
        select(func.max(Task.position)).where(Task.project_id == project_id, Task.status == status)
    )
    return key_between(last, None)


def _check_version(task: Task, expected: frozenset[int] | None) -> None:
    if expected is not None and task.version not in expected:
        raise TaskVersionMismatch(task.version)


async def create_task(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, data: TaskCreate
) -> Task:
    await require_role(session, project_id, user_id, minimum=Role.member, write=True)
    await _check_assignee(session, project_id, data.assignee_id)
    await check_parent(session, project_id=project_id, parent_id=data.parent_id)
    labels = await _labels(session, project_id, data.label_ids)
    now = utcnow()
    task = Task(
        project_id=project_id,
        title=data.title,
        description=data.description,
        status=data.status,
        priority_rank=PRIORITY_RANK[data.priority],
        position=await _end_of_column(session, project_id, data.status),
        due_at=data.due_at,
        remind_at=data.remind_at,
        assignee_id=data.assignee_id,
        created_by=user_id,
        created_at=now,
        updated_at=now,
        version=1,
        parent_id=data.parent_id,
        recurrence=data.recurrence,
    )
    task.labels = labels
    task.extras = TaskExtras.empty()  # a new task has no subtasks or relations yet
    session.add(task)
    await append_row_event(session, task, name="task.created", actor_id=user_id, read=TaskRead)
    await triggers.task_saved(session, task, actor_id=user_id)
    return task


def _readable_task(task_id: uuid.UUID, user_id: uuid.UUID) -> Select[Task]:
    return (
        select(Task)
        .join(
            Membership,
            (Membership.project_id == Task.project_id) & (Membership.user_id == user_id),
        )
        .where(Task.id == task_id)
        # One task: its labels come in the same round trip (selectinload would add one).
        .options(joinedload(Task.labels))
    )


async def get_task(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> Task:
    """A task of a project the caller is a member of (any role), else TaskNotFound."""
    task = (await session.execute(_readable_task(task_id, user_id))).unique().scalar()
    if task is None:
        raise TaskNotFound()
    return task


async def get_task_json(
    session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID
) -> tuple[bytes, int]:
    """The JSON of `TaskRead` and the version of a task the caller may read (one statement)."""
    found = await readable_task_json(session, task_id=task_id, user_id=user_id)
    if found is None:
        raise TaskNotFound()
    return found


async def task_access(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    user_id: uuid.UUID,
    minimum: Role,
    write: bool = False,
) -> tuple[Task, Access]:
    """The task (labels loaded) and the caller's access to its project (see `row_access`)."""
    return await row_access(
        session,
        model=Task,
        row_id=task_id,
        user_id=user_id,
        not_found=TaskNotFound,
        minimum=minimum,
        write=write,
        options=[selectinload(Task.labels)],
    )


async def update_task(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    user_id: uuid.UUID,
    data: TaskUpdate,
    expected_version: frozenset[int] | None = None,
) -> Task:
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    _check_version(task, expected_version)
    changes = data.model_dump(exclude_unset=True)
    changed = False
    was_status, was_assignee, was_description = task.status, task.assignee_id, task.description
    if "parent_id" in changes and changes["parent_id"] != task.parent_id:
        await check_parent(
            session, project_id=task.project_id, parent_id=changes["parent_id"], task_id=task.id
        )
        task.parent_id = changes["parent_id"]
        changed = True
    if "assignee_id" in changes and changes["assignee_id"] != task.assignee_id:
        await _check_assignee(session, task.project_id, changes["assignee_id"])
        task.assignee_id = changes["assignee_id"]
        changed = True
    if "label_ids" in changes:
        labels = await _labels(session, task.project_id, changes["label_ids"])
        if {label.id for label in labels} != {label.id for label in task.labels}:
            task.labels = labels
            changed = True
    if "status" in changes and changes["status"] != task.status:
        task.position = await _end_of_column(session, task.project_id, changes["status"])
        task.status = changes["status"]
        changed = True
    if "priority" in changes and PRIORITY_RANK[changes["priority"]] != task.priority_rank:
        task.priority_rank = PRIORITY_RANK[changes["priority"]]
        changed = True
    for field in ("title", "description", "due_at", "remind_at", "recurrence"):
        if field in changes and changes[field] != getattr(task, field):
            setattr(task, field, changes[field])
            changed = True
    if not changed:
        await load_extras(session, [task])
        return task
    await _save(session, task, "task.updated", user_id)
    await triggers.task_saved(
        session, task, actor_id=user_id, was_assignee=was_assignee, was_description=was_description
    )
    await _completed(session, task, was_status, user_id)
    return task


async def _completed(
    session: AsyncSession, task: Task, was_status: str, actor_id: uuid.UUID
) -> None:
    """A recurring task that has just become done gets its next occurrence."""
    if task.status == "done" and was_status != "done" and task.recurrence is not None:
        position = await _end_of_column(session, task.project_id, "todo")
        await create_next_occurrence(session, task, actor_id=actor_id, position=position)


async def _save(session: AsyncSession, task: Task, name: EventName, actor_id: uuid.UUID) -> None:
    """The one rule for a changed task: next version, new updated_at, flushed, its event."""
    await save_tasks(session, [task], name=name, actor_id=actor_id)


async def unassign_member(
    session: AsyncSession, *, project_id: uuid.UUID, member_id: uuid.UUID, actor_id: uuid.UUID
) -> list[Task]:
    """Unassign a member's tasks when they leave the project: each an ordinary task update
    (next version, `task.updated` event). The caller holds the project's write lock."""
    tasks = (
        await session.scalars(
            select(Task)
            .where(Task.project_id == project_id, Task.assignee_id == member_id)
            .options(selectinload(Task.labels))
            .order_by(Task.id)
        )
    ).all()
    for task in tasks:
        task.assignee_id = None
    await save_tasks(session, tasks, name="task.updated", actor_id=actor_id)
    return list(tasks)


async def count_by_status(
    session: AsyncSession, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, int]]:
    """How many tasks each project has per status (statuses without tasks are left out)."""
    counts: dict[uuid.UUID, dict[str, int]] = {pid: {} for pid in project_ids}
    if project_ids:
        rows = await session.execute(
            select(Task.project_id, Task.status, func.count())
            .where(Task.project_id.in_(project_ids))
            .group_by(Task.project_id, Task.status)
        )
        for project_id, status, count in rows:
            counts[project_id][status] = count
    return counts


async def _neighbour(
    session: AsyncSession, task: Task, neighbour_id: uuid.UUID, status: str, field: str
) -> Task:
    if neighbour_id == task.id:
        raise ValidationFailed.field(("body", field), "A task cannot be its own neighbour.")
    neighbour = await session.scalar(
        select(Task).where(
            Task.id == neighbour_id, Task.project_id == task.project_id, Task.status == status
        )
    )
    if neighbour is None:
        raise ValidationFailed.field(
            ("body", field), "Must be a task of the same project in the target column."
        )
    return neighbour


async def move_task(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    user_id: uuid.UUID,
    data: TaskMove,
    expected_version: frozenset[int] | None = None,
) -> Task:
    """Place the task in a column, before/after a neighbour; only this task's row changes.

    Runs under the project lock (see `require_role`), and the gap is re-read from the
    neighbour: with `after_id` the task goes between that task and its current successor, so
    two moves "between the same neighbours" end up one after the other, never on one key.
    """
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    _check_version(task, expected_version)
    was_status = task.status
    status = data.status or task.status
    after = (
        await _neighbour(session, task, data.after_id, status, "after_id")
        if data.after_id
        else None
    )
    before = (
        await _neighbour(session, task, data.before_id, status, "before_id")
        if data.before_id
        else None
    )
    column = (Task.project_id == task.project_id) & (Task.status == status) & (Task.id != task.id)
    if after is not None and before is not None and after.position >= before.position:
        raise ValidationFailed.field(("body", "before_id"), "after_id must come before before_id.")
    if after is not None:
        lower: str | None = after.position
        upper = await session.scalar(
            select(func.min(Task.position)).where(column, Task.position > after.position)
        )
    elif before is not None:
        upper = before.position
        lower = await session.scalar(
            select(func.max(Task.position)).where(column, Task.position < before.position)
        )
    else:
        lower, upper = await session.scalar(select(func.max(Task.position)).where(column)), None
    task.position = key_between(lower, upper)
    task.status = status
    await _save(session, task, "task.moved", user_id)
    await _completed(session, task, was_status, user_id)
    return task


async def delete_task(
    session: AsyncSession,
    *,
    task_id: uuid.UUID,
    user_id: uuid.UUID,
    expected_version: frozenset[int] | None = None,
) -> None:
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    _check_version(task, expected_version)
    subtask_ids = await session.scalars(select(Task.id).where(Task.parent_id == task.id))
    await deleting(session, Deleting(kind="tasks", ids=[task.id, *subtask_ids], actor_id=user_id))
    related = await delete_subtasks(session, task, actor_id=user_id)
    await delete_task_row(session, task, actor_id=user_id)
    # Their relations to the deleted tasks are gone (database cascade).
    await save_tasks(session, related, name="task.updated", actor_id=user_id)
