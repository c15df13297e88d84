"""The calendar feed: a secret URL of VTODOs that a real iCalendar parser reads; revocable."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from icalendar import Calendar

from tests.helpers import API, Team, assert_problem, create_task


async def _feed_url(team: Team, role: str) -> str:
    response = await team[role].post(f"{API}/auth/me/calendar-feed")
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return urlsplit(url).path


def _todos(body: bytes) -> dict[str, Any]:
    cal = Calendar.from_ical(body)
    return {str(todo["summary"]): todo for todo in cal.walk("VTODO")}


async def test_feed_lists_due_tasks_as_vtodos(team: Team) -> None:
    member, pid = team["member"], team.project_id
    me = team.user_id("member")
    await create_task(
        member,
        pid,
        "Pay rent",
        description="Line one\nLine two, with ; and ,",
        due_at="2026-12-31T23:00:00+01:00",
        assignee_id=me,
        priority="urgent",
    )
    await create_task(member, pid, "No date", assignee_id=me)
    await create_task(member, pid, "Someone else's", due_at="2026-12-20T10:00:00Z")
    await create_task(
        member, pid, "Done one", due_at="2026-12-01T10:00:00Z", assignee_id=me, status="done"
    )
    path = await _feed_url(team, "member")
    assert path.startswith(f"{API}/calendar/") and path.endswith(".ics")

    response = await team.anonymous.get(path)  # the URL is the only credential
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    todos = _todos(response.content)
    assert set(todos) == {"Pay rent", "Done one"}
    rent = todos["Pay rent"]
    assert rent.decoded("due") == dt.datetime(2026, 12, 31, 22, 0, tzinfo=dt.UTC)
    assert str(rent["description"]) == "Line one\nLine two, with ; and ,"
    assert int(rent["priority"]) == 1
    assert str(rent["status"]) == "NEEDS-ACTION"
    assert str(todos["Done one"]["status"]) == "COMPLETED"

    everything = _todos((await team.anonymous.get(path, params={"scope": "all"})).content)
    assert {"Pay rent", "Done one", "Someone else's"} <= set(everything)
    assert "No date" not in everything
    bad = await team.anonymous.get(path, params={"scope": "mine"})
    assert_problem(bad, 422, field="scope")


async def test_revoked_or_replaced_urls_are_404(team: Team) -> None:
    viewer = team["viewer"]
    first = await _feed_url(team, "viewer")
    second = await _feed_url(team, "viewer")
    assert first != second
    assert_problem(await team.anonymous.get(first), 404)  # replaced
    assert (await team.anonymous.get(second)).status_code == 200
    response = await viewer.delete(f"{API}/auth/me/calendar-feed")
    assert response.status_code == 204, response.text
    assert_problem(await team.anonymous.get(second), 404)
    assert_problem(await viewer.delete(f"{API}/auth/me/calendar-feed"), 404)
    assert_problem(await team.anonymous.get(f"{API}/calendar/{'x' * 43}.ics"), 404)
    assert_problem(await team.anonymous.post(f"{API}/auth/me/calendar-feed"), 401)
