"""Comments: members write, authors edit/delete own, admins delete any; oldest first; events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import (
    API,
    MEMBERS_READ,
    Team,
    assert_problem,
    create_task,
    events,
    expect_statuses,
    last_seq,
)


async def _comment(
    team: Team, task: dict[str, Any], role: str = "member", body: str = "hi"
) -> dict[str, Any]:
    response = await team[role].post(f"{API}/tasks/{task['id']}/comments", json={"body": body})
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def test_create_list_edit_delete(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    body = "<img src=x onerror=alert(1)> '); DROP TABLE comments; --"
    response = await team["member"].post(
        f"{API}/tasks/{task['id']}/comments", json={"body": body}, headers={"X-Request-ID": "c-1"}
    )
    assert response.status_code == 201
    first = response.json()
    assert (first["body"], first["author_id"], first["task_id"]) == (
        body,
        team.user_id("member"),
        task["id"],
    )
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"], event["data"]) == ("comment.created", "c-1", first)
    later = [await _comment(team, task, "admin", f"c{i}") for i in range(4)]
    url = f"{API}/tasks/{task['id']}/comments"
    page = (await team["viewer"].get(url, params={"limit": 3})).json()
    rest = (
        await team["viewer"].get(url, params={"limit": 3, "cursor": page["next_cursor"]})
    ).json()
    assert [c["id"] for c in page["items"] + rest["items"]] == [first["id"]] + [
        c["id"] for c in later
    ]
    assert rest["next_cursor"] is None
    edited = await team["member"].patch(f"{API}/comments/{first['id']}", json={"body": "edited"})
    assert edited.status_code == 200 and edited.json()["body"] == "edited"
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["data"]) == ("comment.updated", edited.json())
    assert (await team["member"].delete(f"{API}/comments/{first['id']}")).status_code == 204
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["data"]["id"]) == ("comment.deleted", first["id"])


async def test_author_and_admin_rules(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    mine = await _comment(team, task, "member")
    url = f"{API}/comments/{mine['id']}"
    seq = await last_seq(team["owner"], team.project_id)
    for role, status in (
        ("admin", 403),
        ("owner", 403),
        ("viewer", 403),
        ("outsider", 404),
        ("anonymous", 401),
    ):
        assert_problem(await team[role].patch(url, json={"body": "hijack"}), status)
    other_member = await _comment(team, task, "admin")
    assert_problem(await team["member"].delete(f"{API}/comments/{other_member['id']}"), 403)
    assert_problem(await team["viewer"].delete(url), 403)
    assert_problem(await team["outsider"].delete(url), 404)
    assert await last_seq(team["owner"], team.project_id) == seq + 1
    # Admins and the owner may delete anyone's comment.
    assert (await team["admin"].delete(url)).status_code == 204
    assert (await team["owner"].delete(f"{API}/comments/{other_member['id']}")).status_code == 204


async def test_role_matrix_on_task_comments(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}/comments"
    await expect_statuses(
        team,
        MEMBERS_READ,
        lambda c, _r: c.get(url),
    )
    seq = await last_seq(team["owner"], team.project_id)
    await expect_statuses(
        team,
        {"viewer": 403, "outsider": 404, "anonymous": 401},
        lambda c, _r: c.post(url, json={"body": "x"}),
    )
    assert (await team["owner"].get(url)).json()["items"] == []
    assert await last_seq(team["owner"], team.project_id) == seq


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "x" * 10001}, "body"),
        ({"body": "\x00"}, "body"),  # found by schemathesis: NUL was a 500 on PostgreSQL
        ({}, "body"),
        ({"body": "x", "author_id": "y"}, "author_id"),
    ],
)
async def test_validation(team: Team, body: dict[str, str], field: str) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}/comments"
    assert_problem(await team["member"].post(url, json=body), 422, field=field)
    assert (await team["member"].get(url)).json()["items"] == []
    ok = await _comment(team, task, body="x" * 10000)
    assert_problem(
        await team["member"].patch(f"{API}/comments/{ok['id']}", json=body), 422, field=field
    )
    assert_problem(await team["member"].get(f"{API}/tasks/bad/comments"), 422, field="task_id")
    assert_problem(await team["member"].get(url, params={"limit": 101}), 422, field="limit")


async def test_deleting_task_removes_comments(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    comment = await _comment(team, task)
    assert (await team["member"].delete(f"{API}/tasks/{task['id']}")).status_code == 204
    assert_problem(
        await team["member"].patch(f"{API}/comments/{comment['id']}", json={"body": "x"}), 404
    )
