"""Reminders on a real server and database: remind_at on tasks, who gets `reminder` and
`due_soon`, when, and that each (task, kind, date) is sent once. The sweep is called with
a chosen `now` (the server's own sweep is off), so every moment is exact."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import insert

from taskmanager.config import Settings
from taskmanager.db import utcnow
from taskmanager.notifications.models import TaskWatch
from taskmanager.reminders.service import send_due_reminders
from taskmanager.uow import unit_of_work
from tests import backends
from tests.helpers import API, Team, assert_problem, create_project, create_task, make_team
from tests.isolated import isolated_server
from tests.reminders.conftest import notifications_of
from tests.server import RunningServer

SECOND = dt.timedelta(seconds=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
async def running(
    backend: backends.Backend, make_settings: Callable[..., Settings]
) -> AsyncIterator[RunningServer]:
    async with isolated_server(backend, make_settings, reminder_sweep_seconds=0) as running:
        yield running


@pytest.fixture(scope="module")
async def crew(running: RunningServer) -> AsyncIterator[Team]:
    team = await make_team(running.base_url, "Reminders")
    yield team
    await team.aclose()


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


async def sweep(running: RunningServer, now: dt.datetime) -> None:
    async with unit_of_work(running.resources) as uow:
        await send_due_reminders(uow.session, now=now)


async def sent(running: RunningServer, task: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (user, kind)
        for user, kind, _ in await notifications_of(running.resources.session_factory, task["id"])
    ]


async def watch(running: RunningServer, task: dict[str, Any], *user_ids: str) -> None:
    async with running.resources.session_factory() as session:
        await session.execute(
            insert(TaskWatch),
            [{"task_id": uuid.UUID(task["id"]), "user_id": uuid.UUID(u)} for u in user_ids],
        )
        await session.commit()


async def reminded_task(crew: Team, title: str, **fields: Any) -> dict[str, Any]:
    fields = {"assignee_id": crew.user_id("member"), **fields}
    return await create_task(crew["owner"], crew.project_id, title, **fields)


async def test_remind_at_is_saved_read_changed_and_validated(crew: Team) -> None:
    owner, pid = crew["owner"], crew.project_id
    task = await create_task(owner, pid, "Call back", remind_at="2026-12-24T09:00:00+01:00")
    assert task["remind_at"] == "2026-12-24T08:00:00Z"
    url = f"{API}/tasks/{task['id']}"
    assert (await owner.get(url)).json()["remind_at"] == "2026-12-24T08:00:00Z"
    listed = (await owner.get(f"{API}/projects/{pid}/tasks")).json()["items"]
    assert [t["remind_at"] for t in listed if t["id"] == task["id"]] == ["2026-12-24T08:00:00Z"]
    moved = await owner.patch(url, json={"remind_at": "2026-12-25T10:00:00Z"})
    assert moved.json()["remind_at"] == "2026-12-25T10:00:00Z"
    cleared = await owner.patch(url, json={"remind_at": None})
    assert cleared.json()["remind_at"] is None

    for bad in ("tomorrow", "2026-12-24T09:00:00", 42):  # not a date; no UTC offset; a number
        created = await owner.post(
            f"{API}/projects/{pid}/tasks", json={"title": "x", "remind_at": bad}
        )
        assert_problem(created, 422, field="remind_at")
        assert_problem(await owner.patch(url, json={"remind_at": bad}), 422, field="remind_at")


async def test_a_reminder_goes_to_the_assignee_and_watchers_once(
    running: RunningServer, crew: Team
) -> None:
    at = utcnow() + 2 * HOUR
    task = await reminded_task(crew, "Renew the certificate", remind_at=iso(at))
    # The admin watches; so did the outsider once, who is no member: not told.
    await watch(running, task, crew.user_id("admin"), crew.user_id("outsider"))
    await sweep(running, at - SECOND)
    assert await sent(running, task) == []
    await sweep(running, at)
    rows = await notifications_of(running.resources.session_factory, task["id"])
    assert sorted((user, kind) for user, kind, _ in rows) == sorted(
        [(crew.user_id("member"), "reminder"), (crew.user_id("admin"), "reminder")]
    )
    assert rows[0][2] == {"title": "Renew the certificate", "remind_at": at.isoformat()}
    await sweep(running, at + SECOND)
    await sweep(running, at + HOUR)
    assert len(await sent(running, task)) == 2  # once per recipient, however many sweeps


async def test_due_soon_goes_to_the_assignee_a_day_before(
    running: RunningServer, crew: Team
) -> None:
    due = utcnow() + 3 * DAY
    task = await reminded_task(crew, "Ship it", due_at=iso(due))
    unassigned = await create_task(crew["owner"], crew.project_id, "Nobody's", due_at=iso(due))
    await watch(running, task, crew.user_id("admin"))  # watchers get reminders, not due_soon
    await sweep(running, due - DAY - SECOND)
    assert await sent(running, task) == []
    await sweep(running, due - DAY)
    await sweep(running, due - DAY + HOUR)
    assert await sent(running, task) == [(crew.user_id("member"), "due_soon")]
    assert await sent(running, unassigned) == []


async def test_nothing_is_sent_for_done_deleted_or_archived_tasks(
    running: RunningServer, crew: Team
) -> None:
    owner = crew["owner"]
    at = utcnow() + 4 * HOUR
    fields = {"remind_at": iso(at), "due_at": iso(at + HOUR)}
    done = await reminded_task(crew, "Done already", **fields)
    assert (await owner.patch(f"{API}/tasks/{done['id']}", json={"status": "done"})).is_success
    deleted = await reminded_task(crew, "Deleted already", **fields)
    assert (await owner.delete(f"{API}/tasks/{deleted['id']}")).status_code == 204
    control = await reminded_task(crew, "Still open", **fields)
    shelved = await create_project(owner, "Shelved")
    archived = await create_task(
        owner, shelved["id"], "In an archived project", assignee_id=crew.user_id("owner"), **fields
    )
    patched = await owner.patch(f"{API}/projects/{shelved['id']}", json={"archived": True})
    assert patched.status_code == 200, patched.text
    await sweep(running, at)
    assert await sent(running, done) == []
    assert await sent(running, deleted) == []  # no row refers to it: nothing was sent
    assert await sent(running, archived) == []
    assert sorted(kind for _, kind in await sent(running, control)) == ["due_soon", "reminder"]


async def test_a_changed_date_reschedules_and_reminds_again(
    running: RunningServer, crew: Team
) -> None:
    owner = crew["owner"]
    first = utcnow() + 5 * HOUR
    task = await reminded_task(crew, "Moved around", remind_at=iso(first))
    url = f"{API}/tasks/{task['id']}"
    later = first + HOUR
    await owner.patch(url, json={"remind_at": iso(later)})  # moved before it fired
    await sweep(running, first)
    assert await sent(running, task) == []
    await sweep(running, later)
    assert len(await sent(running, task)) == 1
    again = later + HOUR
    await owner.patch(url, json={"remind_at": iso(again)})  # a new date: a new reminder
    await sweep(running, again)
    assert len(await sent(running, task)) == 2


async def test_missed_reminders_are_caught_up_within_a_day_only(
    running: RunningServer, crew: Team
) -> None:
    at = utcnow() + 6 * HOUR
    recent = await reminded_task(crew, "Missed by hours", remind_at=iso(at))
    await sweep(running, at + 23 * HOUR)  # the server was down until now
    assert len(await sent(running, recent)) == 1
    stale = await reminded_task(crew, "Missed by days", remind_at=iso(at))
    await sweep(running, at + DAY + SECOND)
    assert await sent(running, stale) == []


async def test_racing_sweeps_send_each_reminder_once(running: RunningServer, crew: Team) -> None:
    at = utcnow() + 7 * HOUR
    tasks = [
        await reminded_task(crew, f"Raced {i}", remind_at=iso(at), due_at=iso(at + HOUR))
        for i in range(5)
    ]
    await asyncio.gather(*(sweep(running, at) for _ in range(4)))
    for task in tasks:
        assert sorted(kind for _, kind in await sent(running, task)) == ["due_soon", "reminder"]


async def test_the_next_occurrence_keeps_the_reminder_before_its_due_date(crew: Team) -> None:
    owner = crew["owner"]
    task = await create_task(
        owner,
        crew.project_id,
        "Weekly report",
        due_at="2026-12-04T16:00:00Z",
        remind_at="2026-12-04T08:00:00Z",
        recurrence="FREQ=WEEKLY",
    )
    await owner.patch(f"{API}/tasks/{task['id']}", json={"status": "done"})
    listed = (await owner.get(f"{API}/projects/{crew.project_id}/tasks")).json()["items"]
    [following] = [t for t in listed if t["recurrence_of"] == task["id"]]
    assert (following["due_at"], following["remind_at"]) == (
        "2026-12-11T16:00:00Z",
        "2026-12-11T08:00:00Z",
    )
