"""Moving tasks: before/after neighbours, across columns, one row written, validation."""

from __future__ import annotations

from typing import Any

from tests.helpers import API, Team, assert_problem, create_task, events, last_seq


async def _column(team: Team, status: str = "todo") -> list[str]:
    page = (
        await team["viewer"].get(
            f"{API}/projects/{team.project_id}/tasks", params={"status": status, "limit": 100}
        )
    ).json()
    return [t["title"] for t in page["items"]]


async def _move(team: Team, task: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await team["member"].post(f"{API}/tasks/{task['id']}/move", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    moved: dict[str, Any] = response.json()
    return moved


async def test_move_within_and_across_columns(team: Team) -> None:
    pid = team.project_id
    a, b, c = [await create_task(team["member"], pid, n) for n in "abc"]
    await _move(team, c, after_id=a["id"])
    assert await _column(team) == ["a", "c", "b"]
    await _move(team, a, before_id=b["id"])
    assert await _column(team) == ["c", "a", "b"]
    await _move(team, c)  # no neighbour: end of column
    assert await _column(team) == ["a", "b", "c"]
    await _move(team, b, after_id=a["id"], before_id=c["id"])
    assert await _column(team) == ["a", "b", "c"]
    moved = await _move(team, b, status="done")
    assert moved["status"] == "done"
    assert await _column(team) == ["a", "c"]
    await create_task(team["member"], pid, "d", status="done")
    await _move(team, a, status="done", before_id=b["id"])
    assert await _column(team, "done") == ["a", "b", "d"]


async def test_move_event_and_only_one_row_changes(team: Team) -> None:
    pid = team.project_id
    a, b, c = [await create_task(team["member"], pid, n) for n in "abc"]
    seq = await last_seq(team["owner"], pid)
    moved = await _move(team, c, before_id=a["id"])
    log = await events(team["owner"], pid, after_seq=seq)
    assert [(e["name"], e["data"]) for e in log] == [("task.moved", moved)]
    assert moved["version"] == 2
    for other in (a, b):
        assert (await team["viewer"].get(f"{API}/tasks/{other['id']}")).json() == other


async def test_many_moves_between_same_neighbours(team: Team) -> None:
    pid = team.project_id
    a, b = await create_task(team["member"], pid, "a"), await create_task(team["member"], pid, "b")
    movers = [await create_task(team["member"], pid, f"m{i}") for i in range(12)]
    for m in movers:  # each lands right after "a": between a and the previous mover
        await _move(team, m, after_id=a["id"], before_id=b["id"])
    assert await _column(team) == ["a", *[f"m{i}" for i in reversed(range(12))], "b"]


async def test_move_validation(team: Team) -> None:
    pid = team.project_id
    a, b = await create_task(team["member"], pid, "a"), await create_task(team["member"], pid, "b")
    done = await create_task(team["member"], pid, "done", status="done")
    other = (await team["member"].post(f"{API}/projects", json={"name": "other"})).json()
    foreign = await create_task(team["member"], other["id"], "foreign")
    seq = await last_seq(team["owner"], pid)
    url = f"{API}/tasks/{a['id']}/move"
    cases = [
        ({"after_id": a["id"]}, "after_id"),
        ({"before_id": done["id"]}, "before_id"),
        ({"after_id": foreign["id"]}, "after_id"),
        ({"after_id": "00000000-0000-0000-0000-000000000000"}, "after_id"),
        ({"after_id": b["id"], "before_id": b["id"]}, "before_id"),
        ({"status": "later"}, "status"),
        ({"after_id": "x"}, "after_id"),
        ({"position": "a0"}, "position"),
    ]
    for body, field in cases:
        assert_problem(await team["member"].post(url, json=body), 422, field=field)
    assert (await team["viewer"].get(f"{API}/tasks/{a['id']}")).json() == a
    assert await last_seq(team["owner"], pid) == seq
