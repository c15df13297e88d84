"""Tasks: create, read, update with versions and If-Match, delete; validation; roles; events."""

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

TASK_FIELDS = {
    "id",
    "project_id",
    "title",
    "description",
    "status",
    "priority",
    "position",
    "due_at",
    "remind_at",
    "assignee_id",
    "labels",
    "created_by",
    "created_at",
    "updated_at",
    "version",
    "parent_id",
    "subtask_counts",
    "relations",
    "recurrence",
    "recurrence_of",
}


async def _label(team: Team, name: str = "bug") -> dict[str, Any]:
    response = await team["member"].post(
        f"{API}/projects/{team.project_id}/labels", json={"name": name, "color": "#ff0000"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_full_and_read(team: Team) -> None:
    label = await _label(team)
    response = await team["member"].post(
        f"{API}/projects/{team.project_id}/tasks",
        json={
            "title": "  Ship it  ",
            "description": "<script>alert(1)</script> ' OR 1=1 -- Ärger \u2028 \t ✓",
            "status": "in_progress",
            "priority": "high",
            "due_at": "2026-12-01T10:00:00+02:00",
            "assignee_id": team.user_id("viewer"),
            "label_ids": [label["id"], label["id"]],
        },
        headers={"X-Request-ID": "create-1"},
    )
    assert response.status_code == 201, response.text
    task = response.json()
    assert set(task) == TASK_FIELDS
    assert response.headers["etag"] == '"1"'
    assert task["title"] == "Ship it"
    assert task["description"] == "<script>alert(1)</script> ' OR 1=1 -- Ärger \u2028 \t ✓"
    assert (task["status"], task["priority"], task["version"]) == ("in_progress", "high", 1)
    assert task["due_at"] == "2026-12-01T08:00:00Z"
    assert task["labels"] == [{"id": label["id"], "name": "bug", "color": "#ff0000"}]
    assert task["created_by"] == team.user_id("member")
    got = await team["viewer"].get(f"{API}/tasks/{task['id']}")
    assert got.status_code == 200
    # GET renders its row straight to JSON: byte for byte what the TaskRead model gives.
    assert got.content == response.content
    assert got.headers["etag"] == '"1"'
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"], event["data"]) == ("task.created", "create-1", task)
    assert event["actor_id"] == team.user_id("member")


async def test_defaults_and_new_tasks_go_last(team: Team) -> None:
    first = await create_task(team["member"], team.project_id, "one")
    second = await create_task(team["member"], team.project_id, "two")
    assert (first["status"], first["priority"], first["description"]) == ("todo", "none", "")
    assert first["due_at"] is None and first["assignee_id"] is None and first["labels"] == []
    assert first["position"] < second["position"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x00b"}, "title"),  # PostgreSQL cannot store NUL: 422, never a 500
        ({"title": "ok", "description": "x" * 20001}, "description"),
        ({"title": "ok", "status": "blocked"}, "status"),
        ({"title": "ok", "priority": "critical"}, "priority"),
        ({"title": "ok", "due_at": "tomorrow"}, "due_at"),
        ({"title": "ok", "due_at": 1767225600}, "due_at"),  # not read as Unix time
        ({"title": "ok", "due_at": "2026-13-01T00:00:00Z"}, "due_at"),
        ({"title": "ok", "due_at": "2026-12-01T00:00:00"}, "due_at"),
        ({"title": "ok", "assignee_id": "nope"}, "assignee_id"),
        ({"title": "ok", "label_ids": ["nope"]}, "label_ids"),
        ({"title": "ok", "label_ids": "x"}, "label_ids"),
        ({"title": "ok", "project_id": "00000000-0000-0000-0000-000000000000"}, "project_id"),
        ({"title": "ok", "created_by": "00000000-0000-0000-0000-000000000000"}, "created_by"),
        ({"title": "ok", "version": 7}, "version"),
        ({"title": "ok", "position": "a0"}, "position"),
        ({"description": "no title"}, "title"),
    ],
)
async def test_create_validation_leaves_nothing(
    team: Team, body: dict[str, Any], field: str
) -> None:
    seq = await last_seq(team["owner"], team.project_id)
    response = await team["member"].post(f"{API}/projects/{team.project_id}/tasks", json=body)
    assert_problem(response, 422, field=field)
    tasks = (await team["owner"].get(f"{API}/projects/{team.project_id}/tasks")).json()["items"]
    assert tasks == []
    assert await last_seq(team["owner"], team.project_id) == seq


async def test_edge_lengths_accepted(team: Team) -> None:
    task = await create_task(team["member"], team.project_id, "t" * 200, description="d" * 20000)
    assert len(task["title"]) == 200 and len(task["description"]) == 20000


async def test_assignee_and_labels_must_belong(team: Team) -> None:
    pid = team.project_id
    other = (await team["outsider"].post(f"{API}/projects", json={"name": "other"})).json()
    foreign = (
        await team["outsider"].post(
            f"{API}/projects/{other['id']}/labels", json={"name": "x", "color": "#000000"}
        )
    ).json()
    seq = await last_seq(team["owner"], pid)
    url = f"{API}/projects/{pid}/tasks"
    outsider = team.user_id("outsider")
    body = assert_problem(
        await team["member"].post(url, json={"title": "t", "assignee_id": outsider}),
        422,
        field="assignee_id",
    )
    assert body["errors"][0]["loc"] == ["body", "assignee_id"]
    assert_problem(
        await team["member"].post(url, json={"title": "t", "label_ids": [foreign["id"]]}),
        422,
        field="label_ids",
    )
    assert await last_seq(team["owner"], pid) == seq


async def test_role_matrix(team: Team) -> None:
    pid = team.project_id
    task = await create_task(team["member"], pid)
    url = f"{API}/tasks/{task['id']}"
    await expect_statuses(team, MEMBERS_READ, lambda c, _r: c.get(url))
    await expect_statuses(team, MEMBERS_READ, lambda c, _r: c.get(f"{API}/projects/{pid}/tasks"))
    seq = await last_seq(team["owner"], pid)
    denied = {"viewer": 403, "outsider": 404, "anonymous": 401}
    await expect_statuses(
        team, denied, lambda c, _r: c.post(f"{API}/projects/{pid}/tasks", json={"title": "x"})
    )
    await expect_statuses(team, denied, lambda c, _r: c.patch(url, json={"title": "x"}))
    await expect_statuses(team, denied, lambda c, _r: c.post(f"{url}/move", json={}))
    await expect_statuses(team, denied, lambda c, _r: c.delete(url))
    assert (await team["owner"].get(url)).json() == task
    assert await last_seq(team["owner"], pid) == seq
    allowed = {"owner": 200, "admin": 200, "member": 200}
    await expect_statuses(team, allowed, lambda c, r: c.patch(url, json={"title": f"by {r}"}))
    await expect_statuses(
        team,
        dict.fromkeys(allowed, 201),
        lambda c, r: c.post(f"{API}/projects/{pid}/tasks", json={"title": r}),
    )


async def test_update_versions_and_events(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}"
    response = await team["member"].patch(
        url,
        json={"title": "renamed", "priority": "urgent", "due_at": "2027-01-01T00:00:00Z"},
        headers={"If-Match": '"1"', "X-Request-ID": "upd-1"},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert response.headers["etag"] == '"2"'
    assert (updated["title"], updated["priority"], updated["version"]) == ("renamed", "urgent", 2)
    assert updated["updated_at"] > task["updated_at"]
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"], event["data"]) == ("task.updated", "upd-1", updated)
    # Clearing nullable fields; an empty patch changes nothing and bumps nothing.
    cleared = (await team["member"].patch(url, json={"due_at": None, "assignee_id": None})).json()
    assert cleared["due_at"] is None and cleared["version"] == 3
    seq = await last_seq(team["owner"], team.project_id)
    same = await team["member"].patch(url, json={"title": "renamed"})
    assert same.json()["version"] == 3
    assert await last_seq(team["owner"], team.project_id) == seq


async def test_status_change_goes_to_end_of_new_column(team: Team) -> None:
    done = await create_task(team["member"], team.project_id, "done one", status="done")
    task = await create_task(team["member"], team.project_id, "todo one")
    moved = (
        await team["member"].patch(f"{API}/tasks/{task['id']}", json={"status": "done"})
    ).json()
    assert moved["status"] == "done"
    assert moved["position"] > done["position"]


async def test_if_match_stale_is_412_and_changes_nothing(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}"
    seq = await last_seq(team["owner"], team.project_id)
    for header in ('"2"', "0", '"x"', 'W/"5"', ""):
        response = await team["member"].patch(
            url, json={"title": "x"}, headers={"If-Match": header}
        )
        assert_problem(response, 412)
        assert response.headers["etag"] == '"1"'
    assert_problem(await team["member"].delete(url, headers={"If-Match": '"9"'}), 412)
    assert_problem(
        await team["member"].post(f"{url}/move", json={}, headers={"If-Match": '"9"'}), 412
    )
    assert (await team["owner"].get(url)).json() == task
    assert await last_seq(team["owner"], team.project_id) == seq
    ok = await team["member"].patch(url, json={"title": "x"}, headers={"If-Match": '"0", "1"'})
    assert ok.status_code == 200
    star = await team["member"].patch(url, json={"title": "y"}, headers={"If-Match": "*"})
    assert star.json()["version"] == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": None}, "title"),
        ({"title": ""}, "title"),
        ({"status": None}, "status"),
        ({"status": "archived"}, "status"),
        ({"priority": "p1"}, "priority"),
        ({"label_ids": None}, "label_ids"),
        ({"description": "x" * 20001}, "description"),
        ({"position": "a0"}, "position"),
        ({"project_id": "00000000-0000-0000-0000-000000000000"}, "project_id"),
        ({"version": 99}, "version"),
        ({"due_at": "2026-02-30T00:00:00Z"}, "due_at"),
    ],
)
async def test_update_validation(team: Team, body: dict[str, Any], field: str) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}"
    assert_problem(await team["member"].patch(url, json=body), 422, field=field)
    assert (await team["owner"].get(url)).json() == task


async def test_labels_replace_on_update(team: Team) -> None:
    a, b = await _label(team, "a"), await _label(team, "b")
    task = await create_task(team["member"], team.project_id, label_ids=[a["id"]])
    url = f"{API}/tasks/{task['id']}"
    updated = (await team["member"].patch(url, json={"label_ids": [b["id"], a["id"]]})).json()
    assert [x["name"] for x in updated["labels"]] == ["a", "b"]
    cleared = (await team["member"].patch(url, json={"label_ids": []})).json()
    assert cleared["labels"] == [] and cleared["version"] == 3


async def test_delete(team: Team) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}"
    response = await team["member"].delete(
        url, headers={"If-Match": '"1"', "X-Request-ID": "del-1"}
    )
    assert response.status_code == 204
    assert_problem(await team["member"].get(url), 404)
    assert_problem(await team["member"].delete(url), 404)
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"]) == ("task.deleted", "del-1")
    assert event["data"]["id"] == task["id"]


async def test_bad_ids(team: Team) -> None:
    assert_problem(await team["member"].get(f"{API}/tasks/123"), 422, field="task_id")
    assert_problem(await team["member"].patch(f"{API}/tasks/123", json={}), 422, field="task_id")
    missing = "00000000-0000-0000-0000-000000000000"
    assert_problem(await team["member"].get(f"{API}/tasks/{missing}"), 404)
    assert_problem(
        await team["member"].post(f"{API}/projects/{missing}/tasks", json={"title": "x"}), 404
    )


async def test_malformed_json_and_wrong_type(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    bad = await team["member"].post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(bad, 400)
    assert_problem(await team["member"].post(url, json=["title"]), 422)
