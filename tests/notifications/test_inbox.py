"""The inbox: newest first in keyset pages, unread filter and count, read, read-all; watch."""

from __future__ import annotations

import uuid

from tests.helpers import API, Team, assert_problem, create_task, expect_statuses
from tests.notifications.helpers import unread, unread_count


async def test_pages_filter_read_and_read_all(named_team: Team) -> None:
    team = named_team
    admin = team["admin"]
    tasks = [
        await create_task(
            team["member"], team.project_id, f"T{i}", assignee_id=team.user_id("admin")
        )
        for i in range(5)
    ]
    assert await unread_count(admin) == 5
    url = f"{API}/notifications"
    first = (await admin.get(url, params={"limit": 2})).json()
    second = (await admin.get(url, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    third = (await admin.get(url, params={"limit": 2, "cursor": second["next_cursor"]})).json()
    seen = [n["task_id"] for n in first["items"] + second["items"] + third["items"]][:5]
    assert seen == [t["id"] for t in reversed(tasks)]  # newest first
    # A cursor of one list is not one of another (the unread filter is part of it).
    assert_problem(
        await admin.get(url, params={"unread": "true", "cursor": first["next_cursor"]}), 422
    )
    assert_problem(await admin.get(url, params={"limit": 0}), 422)

    newest = first["items"][0]
    read = await admin.post(f"{API}/notifications/{newest['id']}/read")
    assert read.status_code == 200, read.text
    read_at = read.json()["read_at"]
    assert read_at is not None and read.json()["id"] == newest["id"]
    again = await admin.post(f"{API}/notifications/{newest['id']}/read")
    assert again.status_code == 200 and again.json()["read_at"] == read_at  # idempotent
    assert await unread_count(admin) == 4
    assert newest["id"] not in [n["id"] for n in await unread(admin)]
    everything = [n["id"] for n in (await admin.get(url, params={"limit": 100})).json()["items"]]
    assert newest["id"] in everything

    done = await admin.post(f"{API}/notifications/read-all")
    assert done.status_code == 200 and done.json() == {"read": 4}
    assert await unread_count(admin) == 0 and await unread(admin) == []
    assert (await admin.post(f"{API}/notifications/read-all")).json() == {"read": 0}


async def test_another_users_notification_is_not_found(named_team: Team) -> None:
    team = named_team
    await create_task(team["member"], team.project_id, "For Ada", assignee_id=team.user_id("admin"))
    [note] = await unread(team["admin"])
    url = f"{API}/notifications/{note['id']}/read"
    for role in ("owner", "member", "outsider"):
        assert_problem(await team[role].post(url), 404)
    assert_problem(await team["anonymous"].post(url), 401)
    assert_problem(await team["admin"].post(f"{API}/notifications/{uuid.uuid4()}/read"), 404)
    assert_problem(await team["admin"].post(f"{API}/notifications/not-a-uuid/read"), 422)
    assert_problem(await team["anonymous"].get(f"{API}/notifications"), 401)
    assert_problem(await team["anonymous"].get(f"{API}/notifications/unread-count"), 401)
    # Still unread: nobody else's request touched it.
    assert [n["id"] for n in await unread(team["admin"])] == [note["id"]]


async def test_watch_and_unwatch(named_team: Team) -> None:
    team = named_team
    task = await create_task(team["member"], team.project_id, "Watched")
    url = f"{API}/tasks/{task['id']}/watch"
    assert (await team["viewer"].get(url)).json() == {"watching": False}
    for _ in range(2):  # idempotent
        response = await team["viewer"].post(url)
        assert response.status_code == 200 and response.json() == {"watching": True}
    assert (await team["viewer"].get(url)).json() == {"watching": True}
    assert (await team["admin"].get(url)).json() == {"watching": False}  # per user
    for _ in range(2):
        assert (await team["viewer"].delete(url)).status_code == 204
    assert (await team["viewer"].get(url)).json() == {"watching": False}

    await expect_statuses(
        team,
        {
            "owner": 200,
            "admin": 200,
            "member": 200,
            "viewer": 200,
            "outsider": 404,
            "anonymous": 401,
        },
        lambda client, _: client.post(url),
    )
    await expect_statuses(
        team,
        {"outsider": 404, "anonymous": 401},
        lambda client, _: client.delete(url),
    )
    await expect_statuses(team, {"outsider": 404, "anonymous": 401}, lambda c, _: c.get(url))
    missing = f"{API}/tasks/{uuid.uuid4()}/watch"
    assert_problem(await team["owner"].post(missing), 404)
    assert_problem(await team["owner"].delete(missing), 404)


async def test_a_watcher_who_left_the_project_is_not_told(named_team: Team) -> None:
    team = named_team
    task = await create_task(team["owner"], team.project_id, "Leaving")
    assert (await team["viewer"].post(f"{API}/tasks/{task['id']}/watch")).status_code == 200
    removed = await team["owner"].delete(
        f"{API}/projects/{team.project_id}/members/{team.user_id('viewer')}"
    )
    assert removed.status_code == 204, removed.text
    response = await team["admin"].post(
        f"{API}/tasks/{task['id']}/comments", json={"body": "@Vic are you there?"}
    )
    assert response.status_code == 201
    assert await unread(team["viewer"]) == []
    assert [n["kind"] for n in await unread(team["owner"])] == ["commented"]
