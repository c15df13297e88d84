"""HTTP routes of labels."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, JSON_BODY, problems
from taskmanager.labels import service
from taskmanager.labels.schemas import LabelCreate, LabelRead, LabelUpdate

router = APIRouter(tags=["labels"], responses=problems(*AUTHENTICATED))
NAME_TAKEN = {409: "Name taken in this project, or the project is archived"}


@router.get(
    "/projects/{project_id}/labels",
    summary="The project's labels by name",
    responses=problems(404, 422),
)
async def list_labels(
    project_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    page: PageDep,
) -> Page[LabelRead]:
    labels, next_cursor = await service.list_labels(
        db, project_id=project_id, user_id=principal.id, page=page
    )
    return Page(items=[LabelRead.model_validate(x) for x in labels], next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/labels",
    status_code=status.HTTP_201_CREATED,
    summary="Create a label (member+); names are unique per project (409)",
    responses=problems(*JSON_BODY, 403, 404, 409, notes=NAME_TAKEN),
)
async def create_label(
    project_id: uuid.UUID, body: LabelCreate, principal: CurrentUser, db: SessionDep
) -> LabelRead:
    label = await service.create_label(db, project_id=project_id, user_id=principal.id, data=body)
    return LabelRead.model_validate(label)


@router.patch(
    "/labels/{label_id}",
    summary="Rename or recolour a label (member+)",
    responses=problems(*JSON_BODY, 403, 404, 409, notes=NAME_TAKEN),
)
async def update_label(
    label_id: uuid.UUID, body: LabelUpdate, principal: CurrentUser, db: SessionDep
) -> LabelRead:
    label = await service.update_label(db, label_id=label_id, user_id=principal.id, data=body)
    return LabelRead.model_validate(label)


@router.delete(
    "/labels/{label_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a label and detach it from its tasks (member+)",
    responses=problems(403, 404, 409, 422),
)
async def delete_label(label_id: uuid.UUID, principal: CurrentUser, db: SessionDep) -> None:
    await service.delete_label(db, label_id=label_id, user_id=principal.id)
