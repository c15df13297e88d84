"""Attachments: members upload and delete, every member reads; bytes go with their rows."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.attachments.models import Attachment
from taskmanager.attachments.schemas import AttachmentRead
from taskmanager.attachments.storage import Storage
from taskmanager.errors import NotFound
from taskmanager.events.rows import append_row_event, delete_row
from taskmanager.jobs.queue import enqueue
from taskmanager.kit.cascade import Deleting, on_deleting
from taskmanager.kit.pagination import PageRequest, SortSpec, paginate
from taskmanager.membership.access import ProjectArchived, Role, row_access
from taskmanager.membership.models import Membership
from taskmanager.tasks.models import Task
from taskmanager.tasks.service import get_task, task_access

ATTACHMENT_SORT = SortSpec(
    "created_at", "created_at", Attachment.created_at, Attachment.id, "datetime"
)
PURGE_JOB = "attachments.purge"

logger = logging.getLogger("taskmanager.attachments")


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"

    def __init__(self) -> None:
        super().__init__("Attachment not found.")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file already in storage, waiting for its row."""

    id: uuid.UUID
    storage_key: str
    filename: str
    content_type: str
    size: int
    sha256: str


async def check_upload(session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID) -> Task:
    """Before a byte is stored: the task exists for the caller, who may add files to it
    (checked again, under the project's lock, when the row is written)."""
    task, access = await task_access(session, task_id=task_id, user_id=user_id, minimum=Role.member)
    if access.project.archived:
        raise ProjectArchived()
    return task


async def create_attachment(
    session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID, stored: StoredFile
) -> Attachment:
    """The row of a stored file, checked again under the project's write lock (the task may
    have gone, or the caller's role changed, while the bytes arrived)."""
    task, _ = await task_access(
        session, task_id=task_id, user_id=user_id, minimum=Role.member, write=True
    )
    attachment = Attachment(
        id=stored.id,
        task_id=task.id,
        project_id=task.project_id,
        created_by=user_id,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.storage_key,
    )
    session.add(attachment)
    await append_row_event(
        session, attachment, name="attachment.created", actor_id=user_id, read=AttachmentRead
    )
    return attachment


async def list_attachments(
    session: AsyncSession, *, task_id: uuid.UUID, user_id: uuid.UUID, page: PageRequest
) -> tuple[list[Attachment], str | None]:
    await get_task(session, task_id=task_id, user_id=user_id)
    stmt = select(Attachment).where(Attachment.task_id == task_id)
    return await paginate(
        session, stmt, sort=ATTACHMENT_SORT, scope=f"attachments:{task_id}", page=page
    )


async def get_attachment(
    session: AsyncSession, *, attachment_id: uuid.UUID, user_id: uuid.UUID
) -> Attachment:
    """An attachment of a project the caller is a member of (any role), in one statement."""
    attachment = await session.scalar(
        select(Attachment)
        .join(
            Membership,
            (Membership.project_id == Attachment.project_id) & (Membership.user_id == user_id),
        )
        .where(Attachment.id == attachment_id)
    )
    if attachment is None:
        raise AttachmentNotFound()
    return attachment


async def open_content(storage: Storage, attachment: Attachment) -> AsyncIterator[bytes]:
    """The stored bytes, opened before the response starts, so a missing file is a 404
    rather than a response cut short."""
    chunks = storage.open(attachment.storage_key)
    try:
        first = await anext(chunks, b"")
    except FileNotFoundError:
        logger.error("attachment %s has a row but no stored file", attachment.id)
        raise AttachmentNotFound() from None

    async def rest() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()

    return rest()


async def delete_attachment(
    session: AsyncSession, *, attachment_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    attachment, _ = await row_access(
        session,
        model=Attachment,
        row_id=attachment_id,
        user_id=user_id,
        not_found=AttachmentNotFound,
        minimum=Role.member,
        write=True,
    )
    await _delete_with_event(session, attachment, actor_id=user_id)
    await enqueue_purge(session, [attachment.storage_key], sweep=None)


async def _delete_with_event(
    session: AsyncSession, attachment: Attachment, *, actor_id: uuid.UUID
) -> None:
    await delete_row(
        session,
        attachment,
        name="attachment.deleted",
        actor_id=actor_id,
        data={"id": str(attachment.id), "task_id": str(attachment.task_id)},
    )


async def enqueue_purge(session: AsyncSession, keys: list[str], *, sweep: str | None) -> None:
    """Remove these stored files once the transaction that deleted their rows commits (a
    durable job: it survives a crash and is retried while the storage is unreachable);
    `sweep` also clears crash leftovers under that key prefix."""
    if keys or sweep is not None:
        await enqueue(session, PURGE_JOB, {"keys": keys, "sweep": sweep})


@on_deleting
async def _files_of_deleted(session: AsyncSession, what: Deleting) -> None:
    """Tasks and projects take their attachment rows by cascade; their files are purged by
    a job. An account's own uploads go with it, each with its `attachment.deleted`."""
    if what.kind == "user":
        uploads = (
            await session.scalars(
                select(Attachment)
                .where(Attachment.created_by.in_(what.ids))
                .order_by(Attachment.project_id, Attachment.id)
            )
        ).all()
        for attachment in uploads:
            await _delete_with_event(session, attachment, actor_id=what.actor_id)
        await enqueue_purge(session, [a.storage_key for a in uploads], sweep=None)
        return
    column = Attachment.task_id if what.kind == "tasks" else Attachment.project_id
    keys = list(
        (await session.scalars(select(Attachment.storage_key).where(column.in_(what.ids)))).all()
    )
    sweep = f"{what.ids[0]}/" if what.kind == "project" else None
    await enqueue_purge(session, keys, sweep=sweep)
