"""HTTP routes of project export and import."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.examples import CREATED_AT, LABEL_ID, TASK_ID
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.projects.schemas import ProjectRead
from taskmanager.tasks.reads import render
from taskmanager.transfer import service
from taskmanager.transfer.plan import plan_from
from taskmanager.transfer.schemas import EXPORT_FORMAT

router = APIRouter(tags=["projects"], responses=problems(*AUTHENTICATED))
_EXAMPLE: dict[str, Any] = {
    "format": EXPORT_FORMAT,
    "project": {"name": "Launch", "description": "Everything for the launch"},
    "labels": [{"id": LABEL_ID, "name": "docs", "color": "#1f77b4"}],
    "tasks": [
        {
            "id": TASK_ID,
            "title": "Write the release notes",
            "description": "",
            "status": "in_progress",
            "priority": "high",
            "due_at": "2026-03-06T16:00:00+00:00",
            "remind_at": None,
            "parent_id": None,
            "recurrence": None,
            "label_ids": [LABEL_ID],
        }
    ],
    "relations": [],
    "comments": [{"task_id": TASK_ID, "body": "Draft is up.", "created_at": CREATED_AT}],
}
_CSV_EXAMPLE = (
    "id,title,description,status,priority,due_at,remind_at,assignee_id,parent_id,labels,"
    f"created_at,updated_at\r\n{TASK_ID},Write the release notes,,in_progress,high,"
    f"2026-03-06T16:00:00+00:00,,,,docs,{CREATED_AT},{CREATED_AT}\r\n"
)


@router.get(
    "/projects/{project_id}/export",
    summary="Export a project: JSON of everything, or its tasks as CSV",
    description="JSON (`format: taskmanager.project/1`): the project, labels, tasks with their "
    "subtasks, relations and comments, the file `POST /projects/import` reads. "
    "`?format=csv`: one row per task.",
    responses={
        200: {
            "content": {
                "application/json": {"example": _EXAMPLE},
                "text/csv": {"example": _CSV_EXAMPLE},
            }
        },
        **problems(404, 422),
    },
)
async def export_project(
    project_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    if format_ == "csv":
        text = await service.export_csv(db, project_id=project_id, user_id=principal.id)
        return Response(
            content=text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="tasks.csv"'},
        )
    data = await service.export_project(db, project_id=project_id, user_id=principal.id)
    return Response(
        content=render(data),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="project.json"'},
    )


@router.post(
    "/projects/import",
    status_code=status.HTTP_201_CREATED,
    summary="Create a project from an export or a Trello board's JSON export",
    description="The whole file is checked first and written in one transaction: a bad file "
    "is a 422 whose `errors` say where it is wrong, and nothing is created.",
    responses=problems(*JSON_BODY, 403, 409),
)
async def import_project(
    principal: CurrentUser,
    db: SessionDep,
    body: Annotated[
        dict[str, Any],
        Body(description="Our export, or a Trello board export", examples=[_EXAMPLE]),
    ],
) -> ProjectRead:
    view = await service.import_plan(db, user_id=principal.id, plan=plan_from(body))
    return ProjectRead.of(view)
