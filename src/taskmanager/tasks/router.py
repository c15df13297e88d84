"""HTTP routes of tasks."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.errors import ValidationFailed
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.kit.schemas import NoNul, UTCDateTimeIn
from taskmanager.notifications.schemas import WatchState
from taskmanager.tasks import listing, relations, service, watching
from taskmanager.tasks.models import Task
from taskmanager.tasks.schemas import (
    Priority,
    RelationCreate,
    RelationRead,
    TaskCreate,
    TaskMove,
    TaskRead,
    TaskSort,
    TaskStatus,
    TaskUpdate,
)

router = APIRouter(tags=["tasks"], responses=problems(*AUTHENTICATED))
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description='The task\'s ETag (e.g. "3"); a stale one is a 412 and nothing changes.',
    ),
]


def parse_if_match(if_match: IfMatch = None) -> frozenset[int] | None:
    """Versions the client accepts; None means unconditional (absent or `*`)."""
    if if_match is None or if_match.strip() == "*":
        return None
    versions: set[int] = set()
    for part in if_match.split(","):
        tag = part.strip().removeprefix("W/").strip('"')
        if tag.isdigit() and len(tag) < 19:
            versions.add(int(tag))
    return frozenset(versions)  # empty: nothing can match -> 412


ExpectedVersion = Annotated[frozenset[int] | None, Depends(parse_if_match)]
DueBefore = Annotated[
    UTCDateTimeIn | None, Query(description="due_at < this (RFC 3339 with offset)")
]
DueAfter = Annotated[
    UTCDateTimeIn | None, Query(description="due_at >= this (RFC 3339 with offset)")
]


def _read(task: Task, response: Response) -> TaskRead:
    response.headers["ETag"] = f'"{task.version}"'
    return TaskRead.model_validate(task)


@router.post(
    "/projects/{project_id}/tasks",
    status_code=status.HTTP_201_CREATED,
    summary="Create a task at the end of its column (member+)",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def create_task(
    project_id: uuid.UUID,
    body: TaskCreate,
    principal: CurrentUser,
    db: SessionDep,
    response: Response,
) -> TaskRead:
    task = await service.create_task(db, project_id=project_id, user_id=principal.id, data=body)
    return _read(task, response)


@router.get(
    "/projects/{project_id}/tasks",
    summary="Filter, search, sort and page tasks",
    responses=problems(404, 422),
    response_model=Page[TaskRead],
)
async def list_tasks(
    project_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    page: PageDep,
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    assignee_id: uuid.UUID | None = None,
    label_id: uuid.UUID | None = None,
    priority: Priority | None = None,
    due_before: DueBefore = None,
    due_after: DueAfter = None,
    q: Annotated[
        Annotated[str, NoNul] | None,
        Query(
            min_length=1,
            max_length=200,
            description="Case-insensitive text in title or description",
        ),
    ] = None,
    sort: Annotated[TaskSort, Query(description="`-` for descending; ties by id")] = "position",
    parent_id: Annotated[uuid.UUID | None, Query(description="Only this task's subtasks")] = None,
    top_level: Annotated[bool, Query(description="true: only tasks that are not subtasks")] = False,
) -> Response:
    filters = listing.TaskFilters(
        parent_id=parent_id,
        top_level=top_level,
        status=status_,
        assignee_id=assignee_id,
        label_id=label_id,
        priority=priority,
        due_before=due_before,
        due_after=due_after,
        q=q,
    )
    # Already the JSON of Page[TaskRead] (see listing.list_page): no second validation.
    content = await listing.list_page(
        db,
        project_id=project_id,
        user_id=principal.id,
        filters=filters,
        sort=sort,
        page=page,
    )
    return Response(content=content, media_type="application/json")


@router.get(
    "/tasks/{task_id}",
    summary="One task, with its ETag",
    responses=problems(404, 422),
    response_model=TaskRead,
)
async def get_task(task_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> Response:
    # Already the JSON of TaskRead (see reads.readable_task_json): no model round trip.
    content, version = await service.get_task_json(db, task_id=task_id, user_id=principal.id)
    return Response(
        content=content, media_type="application/json", headers={"ETag": f'"{version}"'}
    )


@router.patch(
    "/tasks/{task_id}",
    summary="Change any task field (member+)",
    responses=problems(*JSON_BODY, 403, 404, 409, 412),
)
async def update_task(
    task_id: uuid.UUID,
    body: TaskUpdate,
    principal: CurrentUser,
    db: SessionDep,
    response: Response,
    expected_version: ExpectedVersion,
) -> TaskRead:
    task = await service.update_task(
        db,
        task_id=task_id,
        user_id=principal.id,
        data=body,
        expected_version=expected_version,
    )
    return _read(task, response)


@router.post(
    "/tasks/{task_id}/move",
    summary="Move a task within or across columns (member+)",
    description="`after_id`: place right after that task; `before_id`: right before it; "
    "neither: at the end of the column. Neighbours must be in the target column "
    "(`status`, default the current one). Only the moved task's row changes.",
    responses=problems(*JSON_BODY, 403, 404, 409, 412),
)
async def move_task(
    task_id: uuid.UUID,
    body: TaskMove,
    principal: CurrentUser,
    db: SessionDep,
    response: Response,
    expected_version: ExpectedVersion,
) -> TaskRead:
    task = await service.move_task(
        db,
        task_id=task_id,
        user_id=principal.id,
        data=body,
        expected_version=expected_version,
    )
    return _read(task, response)


@router.delete(
    "/tasks/{task_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a task (member+)",
    responses=problems(403, 404, 409, 412, 422),
)
async def delete_task(
    task_id: uuid.UUID, principal: CurrentUser, db: SessionDep, expected_version: ExpectedVersion
) -> None:
    await service.delete_task(
        db, task_id=task_id, user_id=principal.id, expected_version=expected_version
    )


@router.get(
    "/tasks",
    summary="My work: tasks assigned to someone, across every project you can see",
    description="`assignee=me` or a user id; only tasks of projects the caller is a member of.",
    responses=problems(422),
    response_model=Page[TaskRead],
)
async def assigned_tasks(
    principal: CurrentUser,
    db: SessionDep,
    page: PageDep,
    assignee: Annotated[
        str,
        Query(pattern=r"^(me|[0-9a-fA-F-]{32,36})$", description="`me` or the assignee's user id"),
    ],
    status_: Annotated[TaskStatus | None, Query(alias="status")] = None,
    due_before: DueBefore = None,
    due_after: DueAfter = None,
    sort: Annotated[TaskSort, Query(description="`-` for descending; ties by id")] = "due_at",
) -> Response:
    content = await listing.assigned_page(
        db,
        user_id=principal.id,
        assignee_id=principal.id if assignee == "me" else _user_id(assignee),
        filters=listing.TaskFilters(status=status_, due_before=due_before, due_after=due_after),
        sort=sort,
        page=page,
    )
    return Response(content=content, media_type="application/json")


def _user_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationFailed.field(("query", "assignee"), "`me` or a user id.") from None


@router.get(
    "/tasks/{task_id}/subtasks",
    summary="A task's subtasks, in board order",
    responses=problems(404, 422),
    response_model=Page[TaskRead],
)
async def list_subtasks(
    task_id: uuid.UUID, principal: CurrentUser, db: SessionDep, page: PageDep
) -> Response:
    parent = await service.get_task(db, task_id=task_id, user_id=principal.id)
    content = await listing.list_page(
        db,
        project_id=parent.project_id,
        user_id=principal.id,
        filters=listing.TaskFilters(parent_id=parent.id),
        sort="position",
        page=page,
    )
    return Response(content=content, media_type="application/json")


@router.post(
    "/tasks/{task_id}/relations",
    status_code=status.HTTP_201_CREATED,
    summary="Relate two tasks of one project (member+)",
    description="`blocks`, `relates_to` or `duplicates`; both tasks list it (the blocked one as "
    "`blocked_by`) and get a `task.updated` event. A `blocks` cycle is a 422 `cycle`.",
    responses=problems(*JSON_BODY, 403, 404, 409),
)
async def add_relation(
    task_id: uuid.UUID, body: RelationCreate, principal: CurrentUser, db: SessionDep
) -> RelationRead:
    relation = await relations.add_relation(db, task_id=task_id, user_id=principal.id, data=body)
    # Seen from the task it was created on: it is the source.
    return RelationRead(id=relation.id, kind=body.kind, task_id=relation.target_id)


@router.delete(
    "/tasks/{task_id}/relations/{relation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a relation, from either of its tasks (member+)",
    responses=problems(403, 404, 409, 422),
)
async def delete_relation(
    task_id: uuid.UUID, relation_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> None:
    await relations.delete_relation(
        db, task_id=task_id, relation_id=relation_id, user_id=principal.id
    )


@router.get(
    "/tasks/{task_id}/watch",
    summary="Whether you watch a task",
    responses=problems(404, 422),
)
async def get_watch(task_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> WatchState:
    return WatchState(
        watching=await watching.is_watching(db, task_id=task_id, user_id=principal.id)
    )


@router.post(
    "/tasks/{task_id}/watch",
    summary="Watch a task: be notified of its comments (any member; idempotent)",
    responses=problems(403, 404, 409, 422),
)
async def watch_task(task_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> WatchState:
    await watching.watch(db, task_id=task_id, user_id=principal.id)
    return WatchState(watching=True)


@router.delete(
    "/tasks/{task_id}/watch",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Stop watching a task (idempotent)",
    responses=problems(403, 404, 422),
)
async def unwatch_task(task_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> None:
    await watching.unwatch(db, task_id=task_id, user_id=principal.id)
