"""Recurring tasks: RRULE validation, the next occurrence once on completion, even under races."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.helpers import API, Team, assert_problem, create_task, events, last_seq


async def _occurrences(team: Team, task_id: str) -> list[dict[str, Any]]:
    response = await team["viewer"].get(
        f"{API}/projects/{team.project_id}/tasks", params={"limit": 100}
    )
    assert response.status_code == 200, response.text
    return [t for t in response.json()["items"] if t["recurrence_of"] == task_id]


async def test_done_creates_the_next_occurrence_once(team: Team) -> None:
    member, pid = team["member"], team.project_id
    label = (
        await member.post(f"{API}/projects/{pid}/labels", json={"name": "r", "color": "#00ff00"})
    ).json()
    task = await create_task(
        member,
        pid,
        "Weekly report",
        recurrence="freq=weekly;byday=MO",
        due_at="2026-12-07T09:00:00Z",  # a Monday
        priority="high",
        assignee_id=team.user_id("member"),
        label_ids=[label["id"]],
    )
    assert task["recurrence"] == "FREQ=WEEKLY;BYDAY=MO"
    before = await last_seq(member, pid)
    response = await member.post(f"{API}/tasks/{task['id']}/move", json={"status": "done"})
    assert response.status_code == 200, response.text

    [following] = await _occurrences(team, task["id"])
    assert following["due_at"] == "2026-12-14T09:00:00Z"
    assert following["status"] == "todo"
    assert following["recurrence"] == task["recurrence"]
    assert (following["title"], following["priority"], following["assignee_id"]) == (
        task["title"],
        task["priority"],
        task["assignee_id"],
    )
    assert following["labels"] == task["labels"]
    log = await events(member, pid, before)
    assert [e["name"] for e in log] == ["task.moved", "task.created"]
    assert log[1]["data"] == following

    # Reopened and done again: still the one next occurrence.
    for status in ("todo", "done"):
        response = await member.patch(f"{API}/tasks/{task['id']}", json={"status": status})
        assert response.status_code == 200, response.text
    assert len(await _occurrences(team, task["id"])) == 1
    # The occurrence recurs in turn.
    await member.patch(f"{API}/tasks/{following['id']}", json={"status": "done"})
    [third] = await _occurrences(team, following["id"])
    assert third["due_at"] == "2026-12-21T09:00:00Z"


async def test_ended_series_and_plain_tasks_create_nothing(team: Team) -> None:
    member, pid = team["member"], team.project_id
    ended = await create_task(
        member,
        pid,
        "Ended",
        recurrence="FREQ=DAILY;UNTIL=20261201T000000Z",
        due_at="2026-12-01T00:00:00Z",
    )
    plain = await create_task(member, pid, "Plain")
    before = await last_seq(member, pid)
    for task in (ended, plain):
        await member.post(f"{API}/tasks/{task['id']}/move", json={"status": "done"})
    assert [e["name"] for e in await events(member, pid, before)] == ["task.moved"] * 2


async def test_invalid_rules_are_422(team: Team) -> None:
    member, pid = team["member"], team.project_id
    task = await create_task(member, pid, "Plain")
    before = await last_seq(member, pid)
    for rule in (
        "every monday",
        "FREQ=SOMETIMES",
        "FREQ=WEEKLY;BYDAY=XX",
        "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY",
        "",
        "FREQ=DAILY;" + "X" * 600,
    ):
        response = await member.post(
            f"{API}/projects/{pid}/tasks", json={"title": "R", "recurrence": rule}
        )
        assert_problem(response, 422, field="recurrence")
        response = await member.patch(f"{API}/tasks/{task['id']}", json={"recurrence": rule})
        assert_problem(response, 422, field="recurrence")
    assert await events(member, pid, before) == []


async def test_concurrent_completions_create_one_occurrence(team: Team) -> None:
    member, pid = team["member"], team.project_id
    task = await create_task(
        member, pid, "Daily", recurrence="FREQ=DAILY", due_at="2026-12-01T08:00:00Z"
    )
    responses = await asyncio.gather(
        *(member.post(f"{API}/tasks/{task['id']}/move", json={"status": "done"}) for _ in range(4)),
        member.patch(f"{API}/tasks/{task['id']}", json={"status": "done"}),
    )
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    [following] = await _occurrences(team, task["id"])
    assert following["due_at"] == "2026-12-02T08:00:00Z"
