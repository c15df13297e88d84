"""Labels: unique names per project; deleting one detaches it from its tasks."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.errors import Conflict, NotFound
from taskmanager.events.rows import append_row_event, delete_row
from taskmanager.kit.pagination import PageRequest, SortSpec, paginate
from taskmanager.labels.models import Label
from taskmanager.labels.schemas import LabelCreate, LabelRead, LabelUpdate
from taskmanager.membership.access import Role, require_role, row_access

LABEL_SORT = SortSpec("name", "name", Label.name, Label.id, "str")


class LabelNotFound(NotFound):
    code = "label_not_found"

    def __init__(self) -> None:
        super().__init__("Label not found.")


class LabelNameTaken(Conflict):
    code = "label_name_taken"

    def __init__(self) -> None:
        super().__init__("This project already has a label with that name.")


async def _check_name_free(
    session: AsyncSession, project_id: uuid.UUID, name: str, exclude: uuid.UUID | None = None
) -> None:
    stmt = select(Label.id).where(Label.project_id == project_id, Label.name == name)
    if exclude is not None:
        stmt = stmt.where(Label.id != exclude)
    # Writers of a project are serialised by the project lock, so check-then-insert is safe;
    # the unique constraint stays as the last line of defence.
    if await session.scalar(stmt) is not None:
        raise LabelNameTaken()


async def create_label(
    session: AsyncSession, *, project_id: uuid.UUID, user_id: uuid.UUID, data: LabelCreate
) -> Label:
    await require_role(session, project_id, user_id, minimum=Role.member, write=True)
    await _check_name_free(session, project_id, data.name)
    now = utcnow()
    label = Label(
        project_id=project_id,
        name=data.name,
        color=data.color.lower(),
        created_at=now,
        updated_at=now,
    )
    session.add(label)
    await append_row_event(session, label, name="label.created", actor_id=user_id, read=LabelRead)
    return label


async def list_labels(
    session: AsyncSession,
    *,
    project_id: uuid.UUID,
    user_id: uuid.UUID,
    page: PageRequest,
) -> tuple[list[Label], str | None]:
    await require_role(session, project_id, user_id, minimum=Role.viewer)
    stmt = select(Label).where(Label.project_id == project_id)
    return await paginate(session, stmt, sort=LABEL_SORT, scope=f"labels:{project_id}", page=page)


async def _label_for_write(session: AsyncSession, label_id: uuid.UUID, user_id: uuid.UUID) -> Label:
    label, _ = await row_access(
        session,
        model=Label,
        row_id=label_id,
        user_id=user_id,
        not_found=LabelNotFound,
        minimum=Role.member,
        write=True,
    )
    return label


async def update_label(
    session: AsyncSession, *, label_id: uuid.UUID, user_id: uuid.UUID, data: LabelUpdate
) -> Label:
    label = await _label_for_write(session, label_id, user_id)
    changes = data.model_dump(exclude_unset=True)
    if "color" in changes:
        changes["color"] = changes["color"].lower()
    if "name" in changes and changes["name"] != label.name:
        await _check_name_free(session, label.project_id, changes["name"], exclude=label.id)
    if all(getattr(label, k) == v for k, v in changes.items()):
        return label
    for field, value in changes.items():
        setattr(label, field, value)
    label.updated_at = utcnow()
    await append_row_event(session, label, name="label.updated", actor_id=user_id, read=LabelRead)
    return label


async def delete_label(session: AsyncSession, *, label_id: uuid.UUID, user_id: uuid.UUID) -> None:
    label = await _label_for_write(session, label_id, user_id)
    # Its task_labels rows go with it (ON DELETE CASCADE).
    await delete_row(
        session,
        label,
        name="label.deleted",
        actor_id=user_id,
        data={"id": str(label.id), "project_id": str(label.project_id)},
    )
