"""HTTP routes of the calendar feed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from taskmanager.auth.deps import CurrentUser
from taskmanager.calendar import service
from taskmanager.calendar.schemas import FeedRead
from taskmanager.db import SessionDep
from taskmanager.kit.responses import AUTHENTICATED, problems
from taskmanager.middleware.idempotency import withhold_from_replay

router = APIRouter(tags=["calendar"])
_EXAMPLE = (
    "BEGIN:VCALENDAR\r\nPRODID:-//taskmanager//calendar feed//EN\r\nVERSION:2.0\r\n"
    "BEGIN:VTODO\r\nUID:3a9e7c51-2f4d-4b8a-a1c6-5d0e9f8b7a62@taskmanager\r\n"
    "SUMMARY:Write the release notes\r\nDUE:20260306T160000Z\r\nSTATUS:IN-PROCESS\r\n"
    "END:VTODO\r\nEND:VCALENDAR\r\n"
)


@router.post(
    "/auth/me/calendar-feed",
    status_code=status.HTTP_201_CREATED,
    summary="Create (or replace) your secret calendar feed URL",
    description="The URL alone gives read access to your due tasks: keep it secret. Creating "
    "a new one revokes the previous URL.",
    responses=problems(*AUTHENTICATED, 403, 409),
    # The secret URL is shown once: a retry with the same Idempotency-Key gets a 409.
    dependencies=[Depends(withhold_from_replay)],
)
async def create_feed(principal: CurrentUser, db: SessionDep, request: Request) -> FeedRead:
    token = await service.create_feed(db, user_id=principal.id)
    return FeedRead(url=str(request.url_for("calendar_feed", token=token)))


@router.delete(
    "/auth/me/calendar-feed",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke your calendar feed URL",
    responses=problems(*AUTHENTICATED, 403, 404),
)
async def revoke_feed(principal: CurrentUser, db: SessionDep) -> None:
    await service.revoke_feed(db, user_id=principal.id)


@router.get(
    "/calendar/{token}.ics",
    name="calendar_feed",
    summary="The calendar feed (iCalendar VTODOs of due tasks); no other authentication",
    responses={
        200: {"content": {"text/calendar": {"example": _EXAMPLE}}},
        **problems(404, 422, 503),
    },
    response_class=Response,
)
async def calendar_feed(
    token: Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")],
    db: SessionDep,
    scope: Annotated[
        Literal["assigned", "all"],
        Query(description="`assigned` (default): your tasks; `all`: every visible task"),
    ] = "assigned",
) -> Response:
    body = await service.render_feed(db, token=token, everything=scope == "all")
    return Response(
        content=body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300", "Referrer-Policy": "no-referrer"},
    )
