"""My work: one assignee's tasks across every project the caller can see, keyset paged."""

from __future__ import annotations

from typing import Any

from tests.helpers import API, Team, add_member, assert_problem, create_project, create_task


async def _all(team: Team, role: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await team[role].get(f"{API}/tasks", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_my_work_across_projects(team: Team) -> None:
    member = team["member"]
    me = team.user_id("member")
    second = await create_project(member, "Second")
    # The owner of the team project sees the member's work in it, not in "Second".
    hidden = await create_project(member, "Hidden")
    due = ["2026-12-05T09:00:00Z", "2026-12-03T09:00:00Z", None, "2026-12-04T09:00:00Z"]
    mine = [
        await create_task(member, team.project_id, "Team 1", assignee_id=me, due_at=due[0]),
        await create_task(member, second["id"], "Second 1", assignee_id=me, due_at=due[1]),
        await create_task(member, second["id"], "Second 2", assignee_id=me, due_at=due[2]),
        await create_task(
            member, hidden["id"], "Hidden", assignee_id=me, due_at=due[3], status="done"
        ),
    ]
    await create_task(member, second["id"], "Unassigned")

    items = await _all(team, "member", assignee="me")
    assert [t["id"] for t in items] == [mine[i]["id"] for i in (1, 3, 0, 2)]  # due, nulls last
    assert items[0]["project_id"] == second["id"]
    latest = await _all(team, "member", assignee="me", sort="-due_at")
    assert {t["id"] for t in latest} == {t["id"] for t in mine}

    done = await _all(team, "member", assignee="me", status="done")
    assert [t["id"] for t in done] == [mine[3]["id"]]
    window = await _all(
        team,
        "member",
        assignee="me",
        due_after="2026-12-04T00:00:00Z",
        due_before="2026-12-05T00:00:00Z",
    )
    assert [t["id"] for t in window] == [mine[3]["id"]]

    by_owner = await _all(team, "owner", assignee=me)
    assert [t["id"] for t in by_owner] == [mine[0]["id"]]
    assert await _all(team, "outsider", assignee=me) == []

    await add_member(member, hidden["id"], team["owner"], "viewer")
    by_owner = await _all(team, "owner", assignee=me)
    assert {t["id"] for t in by_owner} == {mine[0]["id"], mine[3]["id"]}


async def test_my_work_bad_input(team: Team) -> None:
    member = team["member"]
    cases: list[tuple[dict[str, str | int], str]] = [
        ({}, "assignee"),
        ({"assignee": "you"}, "assignee"),
        ({"assignee": "me", "status": "later"}, "status"),
        ({"assignee": "me", "sort": "title"}, "sort"),
        ({"assignee": "me", "limit": 0}, "limit"),
        ({"assignee": "me", "cursor": "forged"}, "cursor"),
        ({"assignee": "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"}, "assignee"),
    ]
    for params, field in cases:
        response = await member.get(f"{API}/tasks", params=params)
        assert_problem(response, 422, field=field)
    anonymous = await team.anonymous.get(f"{API}/tasks", params={"assignee": "me"})
    assert_problem(anonymous, 401)
