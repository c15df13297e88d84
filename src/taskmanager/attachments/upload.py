"""An upload from request to row: check, stream the bytes to storage, then record them.

No transaction is open while the bytes arrive (a slow client must not hold a pooled
connection, nor SQLite's write lock): the caller's right to upload is checked first in a
short read, and checked again under the project's lock when the row is written. Whatever
fails after bytes were stored removes them before the error is answered.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from starlette.requests import Request

from taskmanager.attachments import service
from taskmanager.attachments.files import clean_filename, recorded_type
from taskmanager.attachments.models import Attachment
from taskmanager.attachments.multipart import ENVELOPE_BYTES, MultipartStream
from taskmanager.attachments.storage import Storage, key_for, storage_for
from taskmanager.errors import RequestTimeout
from taskmanager.state import Resources
from taskmanager.uow import unit_of_work

logger = logging.getLogger("taskmanager.attachments")


def upload_allowance(max_file_bytes: int) -> int:
    """The largest request body an upload of the largest allowed file makes."""
    return max_file_bytes + ENVELOPE_BYTES


async def receive_upload(
    request: Request, resources: Resources, *, task_id: uuid.UUID, user_id: uuid.UUID
) -> Attachment:
    settings = resources.settings
    async with unit_of_work(resources, read_only=True) as uow:
        task = await service.check_upload(uow.session, task_id=task_id, user_id=user_id)
    storage = storage_for(settings)
    attachment_id = uuid.uuid4()
    key = key_for(task.project_id, task.id, attachment_id)
    try:
        try:
            async with asyncio.timeout(settings.attachment_upload_timeout_seconds):
                stream = MultipartStream(
                    request.stream(),
                    content_type=request.headers.get("content-type", ""),
                    max_file_bytes=settings.attachment_max_bytes,
                )
                part = await stream.file_part()
                await storage.put(key, stream.chunks())
                await stream.finish()
        except TimeoutError:
            raise RequestTimeout(
                "The upload did not arrive within "
                f"{settings.attachment_upload_timeout_seconds:g} seconds."
            ) from None
        stored = service.StoredFile(
            id=attachment_id,
            storage_key=key,
            filename=clean_filename(part.filename),
            content_type=recorded_type(part.content_type, stream.head),
            size=stream.size,
            sha256=stream.sha256,
        )
        async with unit_of_work(resources) as uow:
            return await service.create_attachment(
                uow.session, task_id=task_id, user_id=user_id, stored=stored
            )
    except BaseException:
        await _discard(storage, key)
        raise


async def _discard(storage: Storage, key: str) -> None:
    """Remove what an upload that failed stored; shielded, so a cancelled request (client
    gone, shutdown) still cleans up. A failure here leaves the file to the orphan sweep."""
    try:
        await asyncio.shield(storage.delete(key))
    except Exception:
        logger.warning("could not remove a failed upload's file; the sweep will", exc_info=True)
