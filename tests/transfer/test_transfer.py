"""Export (JSON, CSV) and import (our JSON, Trello) over HTTP: round trip, mapping, bad files."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.helpers import API, ApiClient, Team, assert_problem, create_project, create_task


async def _projects(client: ApiClient) -> set[str]:
    response = await client.get(f"{API}/projects", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {p["id"] for p in response.json()["items"]}


async def _tasks(client: ApiClient, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/projects/{project_id}/tasks", params={"limit": 100})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_export_import_round_trip(team: Team) -> None:
    member = team["member"]
    project = await create_project(member, "Round trip", description="All of it")
    pid = project["id"]
    label = (
        await member.post(f"{API}/projects/{pid}/labels", json={"name": "bug", "color": "#ff0000"})
    ).json()
    parent = await create_task(
        member, pid, "Parent", label_ids=[label["id"]], priority="high", recurrence="FREQ=DAILY"
    )
    await create_task(member, pid, "Child", parent_id=parent["id"], status="done")
    other = await create_task(
        member, pid, "Other", due_at="2026-12-24T18:00:00Z", remind_at="2026-12-24T08:00:00Z"
    )
    relation = await member.post(
        f"{API}/tasks/{parent['id']}/relations", json={"kind": "blocks", "task_id": other["id"]}
    )
    assert relation.status_code == 201, relation.text
    comment = await member.post(f"{API}/tasks/{other['id']}/comments", json={"body": "Hi"})
    assert comment.status_code == 201, comment.text

    exported = await team["viewer"].get(f"{API}/projects/{pid}/export")
    assert_problem(exported, 404)  # the team's viewer is not a member of this project
    exported = await member.get(f"{API}/projects/{pid}/export")
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-disposition"].startswith("attachment")
    data = exported.json()
    assert data["format"] == "taskmanager.project/1"
    assert [t["title"] for t in data["tasks"]][-1] == "Child"  # subtasks after parents

    imported = await member.post(f"{API}/projects/import", json=data)
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert (copy["name"], copy["description"], copy["role"]) == ("Round trip", "All of it", "owner")
    assert copy["progress"] == {"todo": 2, "in_progress": 0, "done": 1}
    tasks = {t["title"]: t for t in await _tasks(member, copy["id"])}
    assert tasks["Child"]["parent_id"] == tasks["Parent"]["id"]
    assert tasks["Parent"]["subtask_counts"] == {"total": 1, "done": 1}
    assert tasks["Parent"]["labels"][0]["name"] == "bug"
    assert tasks["Parent"]["labels"][0]["id"] != label["id"]
    assert (tasks["Parent"]["priority"], tasks["Parent"]["recurrence"]) == ("high", "FREQ=DAILY")
    assert tasks["Other"]["due_at"] == "2026-12-24T18:00:00Z"
    assert tasks["Other"]["remind_at"] == "2026-12-24T08:00:00Z"
    assert [(r["kind"], r["task_id"]) for r in tasks["Other"]["relations"]] == [
        ("blocked_by", tasks["Parent"]["id"])
    ]
    comments = await member.get(f"{API}/tasks/{tasks['Other']['id']}/comments")
    assert [c["body"] for c in comments.json()["items"]] == ["Hi"]
    # Exporting the copy gives the same file, apart from the new ids.
    again = (await member.get(f"{API}/projects/{copy['id']}/export")).json()
    assert [t["title"] for t in again["tasks"]] == [t["title"] for t in data["tasks"]]


async def test_csv_export(team: Team) -> None:
    member, pid = team["member"], team.project_id
    await create_task(member, pid, '=HYPERLINK("http://evil")', description='a, "b"\nc')
    response = await team["viewer"].get(f"{API}/projects/{pid}/export", params={"format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    evil = next(r for r in rows if "HYPERLINK" in r["title"])
    assert evil["title"].startswith("'=")  # never a formula in a spreadsheet
    assert evil["description"] == 'a, "b"\nc'
    assert_problem(await team["outsider"].get(f"{API}/projects/{pid}/export"), 404)
    bad = await member.get(f"{API}/projects/{pid}/export", params={"format": "xls"})
    assert_problem(bad, 422, field="format")


def trello_board(cards: int = 3) -> dict[str, Any]:
    return {
        "name": "Trello board",
        "desc": "From Trello",
        "lists": [
            {"id": "l1", "name": "To Do", "pos": 1},
            {"id": "l2", "name": "Doing", "pos": 2},
            {"id": "l3", "name": "Done", "pos": 3},
            {"id": "l4", "name": "Old", "pos": 4, "closed": True},
        ],
        "labels": [
            {"id": "g", "name": "", "color": "green"},
            {"id": "r", "name": "Urgent", "color": "red_dark"},
        ],
        "cards": [
            {
                "id": f"c{i}",
                "name": f"Card {i}",
                "desc": "d",
                "idList": ["l1", "l2", "l3"][i % 3],
                "pos": i,
                "idLabels": ["g", "r"] if i == 0 else [],
                "due": "2026-12-10T12:00:00.000Z" if i == 0 else None,
            }
            for i in range(cards)
        ]
        + [{"id": "gone", "name": "Archived", "idList": "l1", "closed": True}],
        "checklists": [
            {
                "id": "k1",
                "idCard": "c0",
                "checkItems": [
                    {"name": "Step 1", "state": "complete", "pos": 1},
                    {"name": "Step 2", "state": "incomplete", "pos": 2},
                ],
            }
        ],
        "actions": [
            {
                "type": "commentCard",
                "date": "2026-11-30T10:00:00Z",
                "data": {"text": "Looks good", "card": {"id": "c1"}},
            },
            {"type": "updateCard", "data": {}},
        ],
    }


async def test_trello_import_maps_lists_labels_checklists_and_comments(team: Team) -> None:
    member = team["member"]
    response = await member.post(f"{API}/projects/import", json=trello_board())
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["name"] == "Trello board"
    tasks = {t["title"]: t for t in await _tasks(member, project["id"])}
    assert set(tasks) == {"Card 0", "Card 1", "Card 2", "Step 1", "Step 2"}
    assert [tasks[f"Card {i}"]["status"] for i in range(3)] == ["todo", "in_progress", "done"]
    card = tasks["Card 0"]
    assert card["due_at"] == "2026-12-10T12:00:00Z"
    assert sorted((lb["name"], lb["color"]) for lb in card["labels"]) == [
        ("Urgent", "#eb5a46"),
        ("green", "#61bd4f"),
    ]
    assert card["subtask_counts"] == {"total": 2, "done": 1}
    assert tasks["Step 1"]["parent_id"] == card["id"]
    comments = await member.get(f"{API}/tasks/{tasks['Card 1']['id']}/comments")
    assert [c["body"] for c in comments.json()["items"]] == ["Looks good"]


async def test_bad_files_are_422_naming_the_place_and_create_nothing(team: Team) -> None:
    member = team["member"]
    before = await _projects(member)
    missing_list = trello_board()
    del missing_list["cards"][1]["idList"]
    body = assert_problem(await member.post(f"{API}/projects/import", json=missing_list), 422)
    assert body["errors"][0]["loc"] == ["body", "cards", 1, "idList"]
    assert "cards.1.idList" in body["detail"]

    wrong_list = trello_board()
    wrong_list["cards"][2]["idList"] = "nowhere"
    body = assert_problem(await member.post(f"{API}/projects/import", json=wrong_list), 422)
    assert body["errors"][0]["loc"] == ["body", "cards", 2, "idList"]

    no_name = trello_board()
    del no_name["lists"][0]["name"]
    body = assert_problem(await member.post(f"{API}/projects/import", json=no_name), 422)
    assert body["errors"][0]["loc"] == ["body", "lists", 0, "name"]

    export: dict[str, Any] = {
        "format": "taskmanager.project/1",
        "project": {"name": "P"},
        "tasks": [
            {"id": "00000000-0000-4000-8000-000000000001", "title": "A"},
            {
                "id": "00000000-0000-4000-8000-000000000002",
                "title": "B",
                "parent_id": "00000000-0000-4000-8000-000000000009",
            },
        ],
    }
    body = assert_problem(await member.post(f"{API}/projects/import", json=export), 422)
    assert body["errors"][0]["loc"] == ["body", "tasks", 1, "parent_id"]
    export["tasks"][1]["parent_id"] = None
    export["relations"] = [
        {
            "kind": "blocks",
            "source_id": export["tasks"][0]["id"],
            "target_id": export["tasks"][1]["id"],
        },
        {
            "kind": "blocks",
            "source_id": export["tasks"][1]["id"],
            "target_id": export["tasks"][0]["id"],
        },
    ]
    body = assert_problem(await member.post(f"{API}/projects/import", json=export), 422)
    assert body["errors"][0]["loc"] == ["body", "relations"]
    export["relations"] = []
    export["tasks"][0]["status"] = "someday"
    body = assert_problem(await member.post(f"{API}/projects/import", json=export), 422)
    assert body["errors"][0]["loc"] == ["body", "tasks", 0, "status"]

    body = assert_problem(await member.post(f"{API}/projects/import", json={"hello": 1}), 422)
    assert body["errors"][0]["loc"] == ["body", "format"]
    assert await _projects(member) == before
    assert_problem(await team.anonymous.post(f"{API}/projects/import", json=export), 401)
