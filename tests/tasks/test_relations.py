"""Relations: blocks / relates_to / duplicates in one project, both ends, cycles refused."""

from __future__ import annotations

from typing import Any

from tests.helpers import API, Team, assert_problem, create_project, create_task, events, last_seq


async def _relate(team: Team, source: str, kind: str, target: str) -> Any:
    return await team["member"].post(
        f"{API}/tasks/{source}/relations", json={"kind": kind, "task_id": target}
    )


async def _relations(team: Team, task_id: str) -> list[dict[str, Any]]:
    response = await team["viewer"].get(f"{API}/tasks/{task_id}")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["relations"]
    return found


async def test_blocks_seen_from_both_ends_with_events(team: Team) -> None:
    member, pid = team["member"], team.project_id
    a = await create_task(member, pid, "A")
    b = await create_task(member, pid, "B")
    before = await last_seq(member, pid)
    response = await _relate(team, a["id"], "blocks", b["id"])
    assert response.status_code == 201, response.text
    relation = response.json()
    assert relation == {"id": relation["id"], "kind": "blocks", "task_id": b["id"]}

    assert await _relations(team, a["id"]) == [relation]
    assert await _relations(team, b["id"]) == [
        {"id": relation["id"], "kind": "blocked_by", "task_id": a["id"]}
    ]
    log = await events(member, pid, before)
    assert [(e["name"], e["data"]["id"]) for e in log] == [
        ("task.updated", a["id"]),
        ("task.updated", b["id"]),
    ]
    assert log[1]["data"]["relations"][0]["kind"] == "blocked_by"
    # The list shows the same as GET.
    listed = await member.get(f"{API}/projects/{pid}/tasks", params={"limit": 100})
    by_id = {t["id"]: t for t in listed.json()["items"]}
    assert by_id[b["id"]]["relations"] == await _relations(team, b["id"])

    # Removed from the blocked end: gone from both, two more events.
    before = await last_seq(member, pid)
    response = await member.delete(f"{API}/tasks/{b['id']}/relations/{relation['id']}")
    assert response.status_code == 204, response.text
    assert await _relations(team, a["id"]) == []
    assert await _relations(team, b["id"]) == []
    assert len(await events(member, pid, before)) == 2
    response = await member.delete(f"{API}/tasks/{b['id']}/relations/{relation['id']}")
    assert_problem(response, 404)


async def test_blocks_cycle_is_422_cycle(team: Team) -> None:
    member, pid = team["member"], team.project_id
    a, b, c = [await create_task(member, pid, name) for name in "ABC"]
    assert (await _relate(team, a["id"], "blocks", b["id"])).status_code == 201
    assert (await _relate(team, b["id"], "blocks", c["id"])).status_code == 201
    before = await last_seq(member, pid)
    for source, target in ((c, a), (b, a)):
        body = assert_problem(await _relate(team, source["id"], "blocks", target["id"]), 422)
        assert body["code"] == "cycle"
    assert await events(member, pid, before) == []
    assert [r["kind"] for r in await _relations(team, a["id"])] == ["blocks"]
    # Other kinds never form a blocking cycle.
    assert (await _relate(team, c["id"], "relates_to", a["id"])).status_code == 201
    assert (await _relate(team, c["id"], "duplicates", a["id"])).status_code == 201
    kinds = sorted(r["kind"] for r in await _relations(team, a["id"]))
    assert kinds == ["blocks", "duplicated_by", "relates_to"]


async def test_bad_relations(team: Team) -> None:
    member, pid = team["member"], team.project_id
    a = await create_task(member, pid, "A")
    b = await create_task(member, pid, "B")
    foreign = await create_task(member, (await create_project(member, "Other"))["id"], "F")
    before = await last_seq(member, pid)
    assert_problem(await _relate(team, a["id"], "blocks", foreign["id"]), 422, field="task_id")
    assert_problem(await _relate(team, a["id"], "blocks", a["id"]), 422, field="task_id")
    assert_problem(await _relate(team, a["id"], "follows", b["id"]), 422, field="kind")
    assert (await _relate(team, a["id"], "relates_to", b["id"])).status_code == 201
    assert_problem(await _relate(team, b["id"], "relates_to", a["id"]), 409)
    response = await team["viewer"].post(
        f"{API}/tasks/{a['id']}/relations", json={"kind": "blocks", "task_id": b["id"]}
    )
    assert_problem(response, 403)
    response = await team["outsider"].post(
        f"{API}/tasks/{a['id']}/relations", json={"kind": "blocks", "task_id": b["id"]}
    )
    assert_problem(response, 404)
    assert len(await events(member, pid, before)) == 2  # only the relates_to


async def test_deleting_a_task_updates_the_other_end(team: Team) -> None:
    member, pid = team["member"], team.project_id
    a = await create_task(member, pid, "A")
    b = await create_task(member, pid, "B")
    assert (await _relate(team, a["id"], "blocks", b["id"])).status_code == 201
    before = await last_seq(member, pid)
    assert (await member.delete(f"{API}/tasks/{a['id']}")).status_code == 204
    log = await events(member, pid, before)
    assert [e["name"] for e in log] == ["task.deleted", "task.updated"]
    assert log[1]["data"]["id"] == b["id"]
    assert log[1]["data"]["relations"] == []
    assert await _relations(team, b["id"]) == []
