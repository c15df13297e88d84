"""GET /sync: one cursor for every project the caller can see (bootstrap, then deltas)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from taskmanager.auth.deps import CurrentUser
from taskmanager.db import SessionDep
from taskmanager.kit.responses import AUTHENTICATED, problems
from taskmanager.sync import cursor as cursors
from taskmanager.sync import service
from taskmanager.sync.schemas import SyncRead
from taskmanager.tasks.reads import render

router = APIRouter(tags=["sync"], responses=problems(*AUTHENTICATED))


@router.get(
    "/sync",
    summary="Everything new in every project you can see, since a cursor",
    response_model=SyncRead,
    responses=problems(
        410,
        422,
        notes={
            410: "`resync_required`: the cursor is older than the retained event log; "
            "bootstrap again without a cursor",
            422: "`invalid_cursor`: altered, truncated or someone else's cursor; or a bad `limit`",
        },
    ),
    description="Without `cursor`: a bootstrap, the snapshot of every project you are a "
    "member of (projects, members, labels, tasks), in pages of at most `limit` rows; keep "
    "calling with the returned `cursor` while `has_more` is true. With a cursor: the events "
    "of every visible project since it, per project in seq order, at most `limit`; a "
    "project you joined since appears whole in `snapshot` (listed in `projects.added`), one "
    "you left or that was deleted is listed in `projects.removed`. The cursor of the last "
    "page is where the next sync (or WebSocket `subscribe_all`) starts.",
)
async def sync(
    request: Request,
    principal: CurrentUser,
    db: SessionDep,
    cursor: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=cursors.MAX_CURSOR_CHARS,
            description="`cursor` of the previous response; none for a bootstrap",
        ),
    ] = None,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=service.MAX_LIMIT,
            description=f"Most rows (snapshot rows and events together), 1..{service.MAX_LIMIT}",
        ),
    ] = service.DEFAULT_LIMIT,
) -> Response:
    key: bytes = request.state.resources.secret_key
    position = None if cursor is None else cursors.decode(key, principal.id, cursor)
    page = await service.sync(db, user_id=principal.id, cursor=position, limit=limit)
    body = {
        "events": page.events,
        "snapshot": page.snapshot,
        "cursor": cursors.encode(key, principal.id, page.cursor),
        "has_more": page.has_more,
        "projects": {"added": page.added, "removed": page.removed},
    }
    # Rendered directly (like the task list): validating thousands of rows again would
    # cost more than reading them.
    return Response(content=render(body), media_type="application/json")
