"""Subtasks: one level in one project, counts on the parent, filters, cascade delete, moves."""

from __future__ import annotations

from typing import Any

from tests.helpers import API, Team, assert_problem, create_project, create_task, events, last_seq


async def _get(team: Team, task_id: str, role: str = "viewer") -> dict[str, Any]:
    response = await team[role].get(f"{API}/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_counts_filters_and_subtask_list(team: Team) -> None:
    member, pid = team["member"], team.project_id
    parent = await create_task(member, pid, "Parent")
    assert parent["parent_id"] is None
    assert parent["subtask_counts"] == {"total": 0, "done": 0}
    subs = [
        await create_task(member, pid, f"Sub {i}", parent_id=parent["id"], status=status)
        for i, status in enumerate(["todo", "done", "in_progress"])
    ]
    assert all(sub["parent_id"] == parent["id"] for sub in subs)

    got = await _get(team, parent["id"])
    assert got["subtask_counts"] == {"total": 3, "done": 1}
    listed = await team["viewer"].get(f"{API}/projects/{pid}/tasks", params={"limit": 100})
    in_list = next(t for t in listed.json()["items"] if t["id"] == parent["id"])
    assert in_list == got  # the list and GET render the same task

    children = await team["viewer"].get(f"{API}/tasks/{parent['id']}/subtasks")
    assert children.status_code == 200, children.text
    assert {t["id"] for t in children.json()["items"]} == {s["id"] for s in subs}

    by_parent = await team["viewer"].get(
        f"{API}/projects/{pid}/tasks", params={"parent_id": parent["id"]}
    )
    assert {t["id"] for t in by_parent.json()["items"]} == {s["id"] for s in subs}
    top = await team["viewer"].get(
        f"{API}/projects/{pid}/tasks", params={"top_level": "true", "limit": 100}
    )
    top_ids = {t["id"] for t in top.json()["items"]}
    assert parent["id"] in top_ids
    assert not top_ids & {s["id"] for s in subs}

    outsider = await team["outsider"].get(f"{API}/tasks/{parent['id']}/subtasks")
    assert_problem(outsider, 404)


async def test_bad_parents_are_422_and_nothing_is_created(team: Team) -> None:
    member, pid = team["member"], team.project_id
    parent = await create_task(member, pid, "Parent")
    sub = await create_task(member, pid, "Sub", parent_id=parent["id"])
    other_project = await create_project(member, "Elsewhere")
    foreign = await create_task(member, other_project["id"], "Foreign")
    before = await last_seq(member, pid)

    for parent_id in (sub["id"], foreign["id"], "00000000-0000-4000-8000-000000000000"):
        response = await member.post(
            f"{API}/projects/{pid}/tasks", json={"title": "Nope", "parent_id": parent_id}
        )
        assert_problem(response, 422, field="parent_id")
    # A parent cannot become a subtask, nor a task its own parent.
    other = await create_task(member, pid, "Other")
    response = await member.patch(f"{API}/tasks/{parent['id']}", json={"parent_id": other["id"]})
    assert_problem(response, 422, field="parent_id")
    response = await member.patch(f"{API}/tasks/{other['id']}", json={"parent_id": other["id"]})
    assert_problem(response, 422, field="parent_id")
    log = await events(member, pid, before)
    assert [e["name"] for e in log] == ["task.created"]  # only "Other"


async def test_move_subtask_between_parents(team: Team) -> None:
    member, pid = team["member"], team.project_id
    first = await create_task(member, pid, "First")
    second = await create_task(member, pid, "Second")
    sub = await create_task(member, pid, "Sub", parent_id=first["id"])
    response = await member.patch(f"{API}/tasks/{sub['id']}", json={"parent_id": second["id"]})
    assert response.status_code == 200, response.text
    assert response.json()["parent_id"] == second["id"]
    assert (await _get(team, first["id"]))["subtask_counts"] == {"total": 0, "done": 0}
    assert (await _get(team, second["id"]))["subtask_counts"] == {"total": 1, "done": 0}
    response = await member.patch(f"{API}/tasks/{sub['id']}", json={"parent_id": None})
    assert response.json()["parent_id"] is None


async def test_deleting_a_parent_deletes_subtasks_with_one_event_each(team: Team) -> None:
    member, pid = team["member"], team.project_id
    parent = await create_task(member, pid, "Parent")
    subs = [await create_task(member, pid, f"S{i}", parent_id=parent["id"]) for i in range(3)]
    before = await last_seq(member, pid)
    response = await member.delete(f"{API}/tasks/{parent['id']}")
    assert response.status_code == 204, response.text
    log = await events(member, pid, before)
    assert [e["name"] for e in log] == ["task.deleted"] * 4
    assert {e["data"]["id"] for e in log} == {parent["id"], *(s["id"] for s in subs)}
    assert log[-1]["data"]["id"] == parent["id"]
    for task in (parent, *subs):
        gone = await member.get(f"{API}/tasks/{task['id']}")
        assert_problem(gone, 404)


async def test_viewer_cannot_add_subtasks(team: Team) -> None:
    parent = await create_task(team["member"], team.project_id, "Parent")
    response = await team["viewer"].post(
        f"{API}/projects/{team.project_id}/tasks", json={"title": "x", "parent_id": parent["id"]}
    )
    assert_problem(response, 403)
