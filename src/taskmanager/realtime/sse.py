"""GET /api/v1/projects/{id}/stream: the project's events as Server-Sent Events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from taskmanager.auth.deps import CurrentUser
from taskmanager.config import Settings
from taskmanager.db import SessionDep
from taskmanager.errors import ValidationFailed
from taskmanager.events.schemas import MAX_SEQ
from taskmanager.kit.responses import AUTHENTICATED, example_response, problems
from taskmanager.membership.access import Role, require_role
from taskmanager.realtime.connection import (
    CLOSE_NORMAL,
    Closed,
    Connection,
    Identity,
    LiveEvent,
    Subscription,
)
from taskmanager.realtime.hub import Hub, SubscribeOutcome
from taskmanager.realtime.limits import Lease
from taskmanager.state import ResourcesDep

router = APIRouter(tags=["realtime"], responses=problems(*AUTHENTICATED))

_STREAM_EXAMPLE = (
    "retry: 2000\n: subscribed seq=41\n\n"
    'id: 42\nevent: task.created\ndata: {"type":"event","project_id":'
    '"6f1c2d9e-8a4b-4c1e-9d3f-2b7a5e0c4d11","seq":42,"name":"task.created",...}\n\n'
    ": keep-alive\n\n"
)


class SseConnection(Connection):
    kind = "sse"
    __slots__ = ()

    def format_event(self, event: LiveEvent) -> str:
        return f"id: {event.seq}\nevent: {event.name}\ndata: {event.text}\n\n"

    def format_control(self, message: dict[str, Any]) -> str | None:
        return f"event: {message['type']}\ndata: {orjson.dumps(message).decode()}\n\n"

    def end_subscription(self, sub: Subscription, code: str, message: str) -> None:
        # One stream follows one project: when that ends, so does the stream.
        super().end_subscription(sub, code, message)
        self.close(CLOSE_NORMAL, message)


def _resume_point(last_event_id: str | None, after_seq: int | None) -> int | None:
    if last_event_id is None or last_event_id == "":
        return after_seq
    # ASCII digits only: str.isdigit() also accepts e.g. "²", which int() refuses.
    if not (last_event_id.isascii() and last_event_id.isdigit()) or int(last_event_id) > MAX_SEQ:
        raise ValidationFailed.field(["header", "Last-Event-ID"], "must be an event seq (integer)")
    return int(last_event_id)


@router.get(
    "/projects/{project_id}/stream",
    summary="Follow a project's events (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: example_response(
            _STREAM_EXAMPLE, description="The event stream", media_type="text/event-stream"
        ),
        **problems(
            404,
            422,
            429,
            notes={
                422: "Bad after_seq or Last-Event-ID",
                429: "Over REALTIME_MAX_CONNECTIONS_PER_USER or REALTIME_MAX_CONNECTIONS",
            },
        ),
    },
)
async def stream_project(
    project_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    resources: ResourcesDep,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    after_seq: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="Resume after this seq")
    ] = None,
) -> StreamingResponse:
    """Each event has `id: <seq>` and `event: <name>`; reconnecting with `Last-Event-ID`
    (browsers do it by themselves) resumes without gaps or repeats. A comment line is sent
    every few seconds of silence so proxies keep the stream open."""
    await require_role(db, project_id, principal.id, minimum=Role.viewer)
    resume = _resume_point(last_event_id, after_seq)
    identity = Identity(
        user_id=principal.id,
        session_hash=principal.session.key_hash if principal.session else None,
        token_id=principal.token_id,
    )
    lease = await resources.limits.acquire(resources, principal.id, transport="sse")
    return StreamingResponse(
        _events(resources.hub, identity, project_id, resume, resources.settings, lease),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        # Also released here in case the stream ends before its first chunk is pulled.
        background=BackgroundTask(lease.release),
    )


async def _events(
    hub: Hub,
    identity: Identity,
    project_id: uuid.UUID,
    resume: int | None,
    settings: Settings,
    lease: Lease,
) -> AsyncIterator[str]:
    connection = SseConnection(hub, identity, queue_size=settings.realtime_send_queue_size)
    hub.register(connection)
    try:
        outcome, seq = await hub.subscribe(connection, project_id, after_seq=resume)
        if outcome != SubscribeOutcome.SUBSCRIBED:
            code = "resync_required" if outcome == SubscribeOutcome.RESYNC else "not_found"
            yield (
                connection.format_control({"type": code, "project_id": str(project_id), "seq": seq})
                or ""
            )
            return
        yield f"retry: 2000\n: subscribed seq={seq}\n\n"
        async for text in pump(connection, settings):
            yield text
    finally:
        hub.unregister(connection)
        await lease.release()


async def pump(connection: SseConnection, settings: Settings) -> AsyncIterator[str]:
    """What the stream sends until its connection closes: queued messages, and a comment
    line when nothing was sent for SSE_HEARTBEAT_SECONDS (proxies close idle streams)."""
    while True:
        try:
            text = await connection.next_message(max_wait=settings.sse_heartbeat_seconds)
        except Closed:
            return
        yield ": keep-alive\n\n" if text is None else text
