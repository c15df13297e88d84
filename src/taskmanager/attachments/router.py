"""HTTP routes of attachments: multipart upload, list, download, delete."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse

from taskmanager.attachments import service
from taskmanager.attachments.files import INLINE_TYPES, content_disposition, served_type
from taskmanager.attachments.multipart import FIELD
from taskmanager.attachments.schemas import AttachmentRead
from taskmanager.attachments.storage import storage_for
from taskmanager.attachments.upload import receive_upload
from taskmanager.auth.deps import CurrentUser, StreamingUser
from taskmanager.db import SessionDep
from taskmanager.kit.pagination import Page, PageDep
from taskmanager.kit.responses import AUTHENTICATED, problems
from taskmanager.state import ResourcesDep, SettingsDep

router = APIRouter(tags=["attachments"], responses=problems(*AUTHENTICATED))

UPLOAD_PATH = "/tasks/{task_id}/attachments"
_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FIELD],
                    "properties": {FIELD: {"type": "string", "format": "binary"}},
                },
                "example": {FIELD: "(the file's bytes)"},
            }
        },
    }
}
# What the bytes of a download may do in a browser that opens them: nothing.
_DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox",
    "Cache-Control": "private, no-store",
}


@router.post(
    UPLOAD_PATH,
    status_code=status.HTTP_201_CREATED,
    summary="Attach a file to a task (member+; multipart/form-data, field `file`)",
    openapi_extra=_UPLOAD_BODY,
    responses=problems(
        400,
        403,
        404,
        408,
        409,
        413,
        415,
        422,
        notes={
            400: "A malformed multipart body (e.g. cut off before its closing boundary)",
            408: "The upload did not arrive in full in time (ATTACHMENT_UPLOAD_TIMEOUT_SECONDS)",
            413: "The file is larger than ATTACHMENT_MAX_BYTES; nothing was kept",
            415: "The body is not multipart/form-data",
            422: "No file in field `file`",
        },
    ),
)
async def upload_attachment(
    task_id: uuid.UUID, request: Request, principal: StreamingUser, resources: ResourcesDep
) -> AttachmentRead:
    attachment = await receive_upload(request, resources, task_id=task_id, user_id=principal.id)
    return AttachmentRead.model_validate(attachment)


@router.get(
    "/tasks/{task_id}/attachments",
    summary="A task's attachments, oldest first",
    responses=problems(404, 422),
)
async def list_attachments(
    task_id: uuid.UUID, principal: CurrentUser, db: SessionDep, page: PageDep
) -> Page[AttachmentRead]:
    attachments, next_cursor = await service.list_attachments(
        db, task_id=task_id, user_id=principal.id, page=page
    )
    return Page(
        items=[AttachmentRead.model_validate(a) for a in attachments], next_cursor=next_cursor
    )


@router.get(
    "/attachments/{attachment_id}",
    summary="One attachment's metadata",
    responses=problems(404, 422),
)
async def get_attachment(
    attachment_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> AttachmentRead:
    attachment = await service.get_attachment(db, attachment_id=attachment_id, user_id=principal.id)
    return AttachmentRead.model_validate(attachment)


@router.get(
    "/attachments/{attachment_id}/content",
    summary="The file's bytes, always as a sandboxed download (checked images may be inline)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The bytes. `Content-Type` is the checked image type or "
            "`application/octet-stream`; `Content-Disposition` is `attachment` unless "
            "`disposition=inline` was asked for a PNG, JPEG, GIF or WebP image.",
            "content": {
                "application/octet-stream": {
                    "schema": {"type": "string", "format": "binary"},
                    "example": "(the file's bytes)",
                }
            },
        },
        **problems(404, 422),
    },
)
async def download_attachment(
    attachment_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
    disposition: Annotated[
        Literal["attachment", "inline"],
        Query(description="`inline` shows a PNG, JPEG, GIF or WebP image in place (previews)"),
    ] = "attachment",
) -> StreamingResponse:
    attachment = await service.get_attachment(db, attachment_id=attachment_id, user_id=principal.id)
    chunks = await service.open_content(storage_for(settings), attachment)
    inline = disposition == "inline" and attachment.content_type in INLINE_TYPES
    return StreamingResponse(
        chunks,
        media_type=served_type(attachment.content_type),
        headers={
            **_DOWNLOAD_HEADERS,
            "Content-Length": str(attachment.size),
            "Content-Disposition": content_disposition(attachment.filename, inline=inline),
        },
    )


@router.delete(
    "/attachments/{attachment_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an attachment (member+)",
    responses=problems(403, 404, 409, 422),
)
async def delete_attachment(
    attachment_id: uuid.UUID, principal: CurrentUser, db: SessionDep
) -> None:
    await service.delete_attachment(db, attachment_id=attachment_id, user_id=principal.id)
