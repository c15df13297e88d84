"""Projects: create, list (keyset pages), get, update, archive, delete; roles; events."""

from __future__ import annotations

import pytest

from tests.helpers import (
    API,
    MEMBERS_READ,
    ApiClient,
    Team,
    assert_problem,
    create_project,
    create_task,
    events,
    expect_statuses,
    last_seq,
)


async def test_create_get_list(client: ApiClient) -> None:
    await client.register()
    created = await create_project(
        client, "  Launch  ", description="<b>x</b>'; DROP TABLE projects;--"
    )
    assert created["name"] == "Launch"
    assert created["description"] == "<b>x</b>'; DROP TABLE projects;--"
    assert created["role"] == "owner"
    assert created["archived"] is False
    assert created["progress"] == {"todo": 0, "in_progress": 0, "done": 0}
    assert set(created) == {
        "id",
        "name",
        "description",
        "archived",
        "role",
        "progress",
        "created_at",
        "updated_at",
    }
    got = (await client.get(f"{API}/projects/{created['id']}")).json()
    assert got == created
    page = (await client.get(f"{API}/projects")).json()
    assert [p["id"] for p in page["items"]] == [created["id"]]
    assert page["next_cursor"] is None


async def test_progress_counts(team: Team) -> None:
    pid = team.project_id
    for status in ("todo", "todo", "in_progress", "done"):
        await create_task(team["member"], pid, status=status)
    got = (await team["viewer"].get(f"{API}/projects/{pid}")).json()
    assert got["progress"] == {"todo": 2, "in_progress": 1, "done": 1}
    assert got["role"] == "viewer"


async def test_list_pagination_walks_all_once(client: ApiClient) -> None:
    await client.register()
    ids = [(await create_project(client, f"P{i}"))["id"] for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(f"{API}/projects", params=params)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first


@pytest.mark.parametrize("limit", [0, 101, -1, "x"])
async def test_list_limit_out_of_range(team_users: dict[str, ApiClient], limit: int | str) -> None:
    client = team_users["outsider"]
    assert_problem(await client.get(f"{API}/projects", params={"limit": limit}), 422, field="limit")


@pytest.mark.parametrize("cursor", ["garbage", "eyJ4IjoxfQ.AAAA", "W10.xxxxxxxxxxxx", "a.b.c"])
async def test_tampered_cursor(team_users: dict[str, ApiClient], cursor: str) -> None:
    client = team_users["outsider"]
    response = await client.get(f"{API}/projects", params={"cursor": cursor})
    body = assert_problem(response, 422, field="cursor")
    assert body["errors"][0]["loc"] == ["query", "cursor"]


async def test_cursor_flipped_char_rejected(client: ApiClient) -> None:
    await client.register()
    for i in range(3):
        await create_project(client, f"P{i}")
    cursor = (await client.get(f"{API}/projects", params={"limit": 1})).json()["next_cursor"]
    flipped = ("B" if cursor[0] != "B" else "C") + cursor[1:]
    assert_problem(
        await client.get(f"{API}/projects", params={"cursor": flipped}), 422, field="cursor"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "description": "x" * 2001}, "description"),
        ({"name": "ok", "owner_id": "x"}, "owner_id"),
        ({"name": "ok", "archived": True}, "archived"),
        ({}, "name"),
        ({"name": 5}, "name"),
    ],
)
async def test_create_validation(
    team_users: dict[str, ApiClient], body: dict[str, object], field: str
) -> None:
    client = team_users["outsider"]
    before = (await client.get(f"{API}/projects")).json()
    assert_problem(await client.post(f"{API}/projects", json=body), 422, field=field)
    assert (await client.get(f"{API}/projects")).json() == before


async def test_limits_accepted_at_the_edge(team_users: dict[str, ApiClient]) -> None:
    client = team_users["outsider"]
    created = await create_project(client, "x" * 100, description="d" * 2000)
    assert len(created["name"]) == 100


async def test_bad_uuid_in_path(team_users: dict[str, ApiClient]) -> None:
    client = team_users["outsider"]
    assert_problem(await client.get(f"{API}/projects/not-a-uuid"), 422, field="project_id")


async def test_get_role_matrix(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}"
    await expect_statuses(
        team,
        MEMBERS_READ,
        lambda c, _r: c.get(url),
    )
    # An id that does not exist looks exactly like one you may not see.
    missing = await team["outsider"].get(f"{API}/projects/00000000-0000-0000-0000-000000000000")
    hidden = await team["outsider"].get(url)
    assert missing.json()["detail"] == hidden.json()["detail"]


async def test_update_role_matrix_and_nothing_left_behind(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}"
    before = (await team["owner"].get(url)).json()
    seq = await last_seq(team["owner"], team.project_id)
    await expect_statuses(
        team,
        {"member": 403, "viewer": 403, "outsider": 404, "anonymous": 401},
        lambda c, r: c.patch(url, json={"name": f"by {r}"}),
    )
    assert (await team["owner"].get(url)).json() == before
    assert await last_seq(team["owner"], team.project_id) == seq
    await expect_statuses(
        team, {"owner": 200, "admin": 200}, lambda c, r: c.patch(url, json={"name": f"by {r}"})
    )
    assert (await team["member"].get(url)).json()["name"] == "by admin"


async def test_update_event_and_request_id(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}"
    response = await team["admin"].patch(
        url, json={"description": "new"}, headers={"X-Request-ID": "req-project-1"}
    )
    assert response.status_code == 200
    event = (await events(team["viewer"], team.project_id))[-1]
    assert event["name"] == "project.updated"
    assert event["request_id"] == "req-project-1"
    assert event["actor_id"] == team.user_id("admin")
    expected = response.json()
    del expected["role"]
    assert event["data"] == expected


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": None}, "name"),
        ({"archived": None}, "archived"),
        ({"archived": "maybe"}, "archived"),
        ({"archived": 0.0}, "archived"),  # found by schemathesis: was read as false
        ({"description": "x" * 2001}, "description"),
        ({"event_seq": 5}, "event_seq"),
        ({"role": "owner"}, "role"),
    ],
)
async def test_update_validation(team: Team, body: dict[str, object], field: str) -> None:
    url = f"{API}/projects/{team.project_id}"
    assert_problem(await team["owner"].patch(url, json=body), 422, field=field)


async def test_archived_project_is_read_only(team: Team) -> None:
    pid = team.project_id
    url = f"{API}/projects/{pid}"
    task = await create_task(team["member"], pid, "before archive")
    archived = await team["admin"].patch(url, json={"archived": True})
    assert archived.status_code == 200
    assert archived.json()["archived"] is True
    seq = await last_seq(team["owner"], pid)
    body = assert_problem(await team["member"].post(f"{url}/tasks", json={"title": "x"}), 409)
    assert "archived" in body["detail"]
    assert_problem(
        await team["member"].patch(f"{API}/tasks/{task['id']}", json={"title": "y"}), 409
    )
    assert_problem(
        await team["member"].post(f"{url}/labels", json={"name": "l", "color": "#000000"}), 409
    )
    assert_problem(
        await team["member"].post(f"{API}/tasks/{task['id']}/comments", json={"body": "hi"}), 409
    )
    assert_problem(await team["owner"].patch(url, json={"name": "renamed"}), 409)
    assert_problem(await team["member"].patch(url, json={"archived": False}), 403)
    assert await last_seq(team["owner"], pid) == seq
    # Reads still work; unarchiving (with an edit) by an admin works.
    assert (await team["viewer"].get(f"{url}/tasks")).status_code == 200
    unarchived = await team["admin"].patch(url, json={"archived": False, "name": "back"})
    assert unarchived.status_code == 200
    assert unarchived.json()["archived"] is False
    await create_task(team["member"], pid, "after")


async def test_delete_roles_and_cascade(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}"
    task = await create_task(team["member"], team.project_id)
    await expect_statuses(
        team,
        {"admin": 403, "member": 403, "viewer": 403, "outsider": 404, "anonymous": 401},
        lambda c, _r: c.delete(url),
    )
    assert (await team["owner"].get(url)).status_code == 200
    response = await team["owner"].delete(url)
    assert response.status_code == 204
    assert_problem(await team["owner"].get(url), 404)
    assert_problem(await team["member"].get(f"{API}/tasks/{task['id']}"), 404)
    listed = (await team["owner"].get(f"{API}/projects")).json()["items"]
    assert team.project_id not in [p["id"] for p in listed]


async def test_unknown_route_method(team: Team) -> None:
    response = await team["owner"].put(f"{API}/projects/{team.project_id}", json={"name": "x"})
    assert_problem(response, 405)
