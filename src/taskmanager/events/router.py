"""GET /projects/{id}/events: the durable event log, oldest first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.events import service
from taskmanager.events.schemas import MAX_SEQ, EventPage, EventRead
from taskmanager.kit.pagination import DEFAULT_LIMIT, LimitQuery
from taskmanager.kit.responses import AUTHENTICATED, problems
from taskmanager.membership.access import Role, require_role

router = APIRouter(tags=["events"], responses=problems(*AUTHENTICATED))


@router.get(
    "/projects/{project_id}/events",
    summary="The project's event log after a seq, in seq order",
    responses=problems(404, 422),
    description="Events are retained for a configurable time (default 30 days, and always the "
    "latest 1,000 per project); older ones may be gone. `next_cursor` is the seq to pass as "
    "`after_seq` for the next page, null when this page is the end of the log.",
)
async def list_events(
    project_id: uuid.UUID,
    principal: CurrentUser,
    db: SessionDep,
    after_seq: Annotated[
        int, Query(ge=0, le=MAX_SEQ, description="Return events with seq > after_seq")
    ] = 0,
    limit: LimitQuery = DEFAULT_LIMIT,
) -> EventPage:
    await require_role(db, project_id, principal.id, minimum=Role.viewer)
    events = await service.read_events(db, project_id=project_id, after_seq=after_seq, limit=limit)
    items = [EventRead.model_validate(e) for e in events]
    next_cursor = str(items[-1].seq) if len(items) == limit else None
    return EventPage(items=items, next_cursor=next_cursor)
