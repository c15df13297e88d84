"""GET /api/v1/notifications/stream: the caller's live notifications as Server-Sent Events."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from taskmanager.auth.deps import CurrentUser
from taskmanager.config import Settings
from taskmanager.kit.responses import AUTHENTICATED, example_response, problems
from taskmanager.realtime.connection import Identity
from taskmanager.realtime.hub import Hub
from taskmanager.realtime.limits import Lease
from taskmanager.realtime.sse import SseConnection, pump
from taskmanager.state import ResourcesDep

router = APIRouter(tags=["realtime"], responses=problems(*AUTHENTICATED))

_STREAM_EXAMPLE = (
    "retry: 2000\n: listening\n\n"
    'event: notification\ndata: {"type":"notification","id":'
    '"2d4f6a8c-1e3b-4d5f-a7c9-0b2d4f6a8c1e","kind":"assigned",...}\n\n'
    ": keep-alive\n\n"
)


@router.get(
    "/notifications/stream",
    summary="Follow your notifications (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={
        200: example_response(
            _STREAM_EXAMPLE, description="The notification stream", media_type="text/event-stream"
        ),
        **problems(
            429, notes={429: "Over REALTIME_MAX_CONNECTIONS_PER_USER or REALTIME_MAX_CONNECTIONS"}
        ),
    },
)
async def stream_notifications(
    principal: CurrentUser, resources: ResourcesDep
) -> StreamingResponse:
    """Each notification as `event: notification` with the same JSON as on the WebSocket.
    Nothing is replayed on reconnect: read `GET /notifications` then. A comment line is
    sent every few seconds of silence so proxies keep the stream open."""
    identity = Identity(
        user_id=principal.id,
        session_hash=principal.session.key_hash if principal.session else None,
        token_id=principal.token_id,
    )
    lease = await resources.limits.acquire(resources, principal.id, transport="sse")
    return StreamingResponse(
        _notifications(resources.hub, identity, resources.settings, lease),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        background=BackgroundTask(lease.release),
    )


async def _notifications(
    hub: Hub, identity: Identity, settings: Settings, lease: Lease
) -> AsyncIterator[str]:
    connection = SseConnection(hub, identity, queue_size=settings.realtime_send_queue_size)
    hub.register(connection)
    try:
        await hub.users.join(connection)
        # Sent once listening: what is notified from here on reaches this stream.
        yield "retry: 2000\n: listening\n\n"
        async for text in pump(connection, settings):
            yield text
    finally:
        hub.unregister(connection)
        await lease.release()
