"""Labels: create, list, rename, recolour, delete (detaching from tasks); roles; events."""

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


async def _label(team: Team, name: str = "bug", color: str = "#FF0000") -> dict[str, Any]:
    response = await team["member"].post(
        f"{API}/projects/{team.project_id}/labels", json={"name": name, "color": color}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_list_update_delete(team: Team) -> None:
    pid = team.project_id
    label = await _label(team, " <b>bug</b> ")
    assert (label["name"], label["color"], label["project_id"]) == ("<b>bug</b>", "#ff0000", pid)
    log = await events(team["owner"], pid)
    assert (log[-1]["name"], log[-1]["data"]) == ("label.created", label)
    for name in ("c", "a"):
        await _label(team, name)
    page = (await team["viewer"].get(f"{API}/projects/{pid}/labels", params={"limit": 2})).json()
    assert [x["name"] for x in page["items"]] == ["<b>bug</b>", "a"]
    rest = (
        await team["viewer"].get(
            f"{API}/projects/{pid}/labels", params={"cursor": page["next_cursor"]}
        )
    ).json()
    assert [x["name"] for x in rest["items"]] == ["c"] and rest["next_cursor"] is None
    updated = await team["member"].patch(f"{API}/labels/{label['id']}", json={"color": "#00aa00"})
    assert updated.status_code == 200
    assert updated.json()["color"] == "#00aa00"
    log = await events(team["owner"], pid)
    assert (log[-1]["name"], log[-1]["data"]) == ("label.updated", updated.json())


async def test_delete_detaches_from_tasks(team: Team) -> None:
    label = await _label(team)
    task = await create_task(team["member"], team.project_id, label_ids=[label["id"]])
    assert task["labels"][0]["id"] == label["id"]
    response = await team["member"].delete(
        f"{API}/labels/{label['id']}", headers={"X-Request-ID": "lbl-del"}
    )
    assert response.status_code == 204
    now = (await team["viewer"].get(f"{API}/tasks/{task['id']}")).json()
    assert now["labels"] == []
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"], event["data"]["id"]) == (
        "label.deleted",
        "lbl-del",
        label["id"],
    )
    assert_problem(
        await team["member"].patch(f"{API}/labels/{label['id']}", json={"name": "x"}), 404
    )


async def test_duplicate_name_is_409(team: Team) -> None:
    label = await _label(team, "dup")
    other = await _label(team, "other")
    seq = await last_seq(team["owner"], team.project_id)
    url = f"{API}/projects/{team.project_id}/labels"
    assert_problem(await team["member"].post(url, json={"name": "dup", "color": "#000000"}), 409)
    assert_problem(
        await team["member"].patch(f"{API}/labels/{other['id']}", json={"name": "dup"}), 409
    )
    assert await last_seq(team["owner"], team.project_id) == seq
    # Renaming to its own name is fine; another project may use the same name.
    assert (
        await team["member"].patch(f"{API}/labels/{label['id']}", json={"name": "dup"})
    ).status_code == 200
    mine = (await team["member"].post(f"{API}/projects", json={"name": "mine"})).json()
    assert (
        await team["member"].post(
            f"{API}/projects/{mine['id']}/labels", json={"name": "dup", "color": "#000000"}
        )
    ).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "color": "#000000"}, "name"),
        ({"name": "x" * 51, "color": "#000000"}, "name"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "color": "#1234567"}, "color"),
        ({"name": "ok", "color": "#gggggg"}, "color"),
        ({"name": "ok"}, "color"),
        ({"name": "ok", "color": "#000000", "project_id": "x"}, "project_id"),
    ],
)
async def test_create_validation(team: Team, body: dict[str, str], field: str) -> None:
    seq = await last_seq(team["owner"], team.project_id)
    response = await team["member"].post(f"{API}/projects/{team.project_id}/labels", json=body)
    assert_problem(response, 422, field=field)
    assert await last_seq(team["owner"], team.project_id) == seq


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": None}, "name"), ({"color": "#zzzzzz"}, "color"), ({"id": "x"}, "id")],
)
async def test_update_validation(team: Team, body: dict[str, Any], field: str) -> None:
    label = await _label(team)
    assert_problem(
        await team["member"].patch(f"{API}/labels/{label['id']}", json=body), 422, field=field
    )
    assert_problem(await team["member"].patch(f"{API}/labels/nope", json={}), 422, field="label_id")


async def test_role_matrix(team: Team) -> None:
    pid = team.project_id
    label = await _label(team)
    list_url = f"{API}/projects/{pid}/labels"
    await expect_statuses(
        team,
        MEMBERS_READ,
        lambda c, _r: c.get(list_url),
    )
    seq = await last_seq(team["owner"], pid)
    denied = {"viewer": 403, "outsider": 404, "anonymous": 401}
    await expect_statuses(
        team, denied, lambda c, r: c.post(list_url, json={"name": r, "color": "#000000"})
    )
    await expect_statuses(
        team, denied, lambda c, r: c.patch(f"{API}/labels/{label['id']}", json={"name": r})
    )
    await expect_statuses(team, denied, lambda c, _r: c.delete(f"{API}/labels/{label['id']}"))
    assert await last_seq(team["owner"], pid) == seq
    await expect_statuses(
        team,
        {"owner": 201, "admin": 201, "member": 201},
        lambda c, r: c.post(list_url, json={"name": r, "color": "#000000"}),
    )
