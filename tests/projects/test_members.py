"""Members and roles: change roles, remove/leave, transfer ownership (joining: invitations)."""

from __future__ import annotations

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


async def _roles(team: Team) -> dict[str, str]:
    members = (await team["owner"].get(f"{API}/projects/{team.project_id}/members")).json()
    return {m["user"]["id"]: m["role"] for m in members}


async def test_list_members(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/members"
    await expect_statuses(
        team,
        MEMBERS_READ,
        lambda c, _r: c.get(url),
    )
    members = (await team["viewer"].get(url)).json()
    assert [m["role"] for m in members] == ["owner", "admin", "member", "viewer"]
    assert set(members[0]) == {"user", "role"}
    assert set(members[0]["user"]) == {"id", "email", "display_name"}


async def test_nobody_is_added_without_an_invitation(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/members"
    response = await team["owner"].post(url, json={"email": team["outsider"].email})
    assert_problem(response, 405)
    assert team.user_id("outsider") not in await _roles(team)


async def test_update_member_rules(team: Team) -> None:
    base = f"{API}/projects/{team.project_id}/members"
    member, admin, owner = team.user_id("member"), team.user_id("admin"), team.user_id("owner")
    response = await team["admin"].patch(f"{base}/{member}", json={"role": "viewer"})
    assert response.status_code == 200
    assert response.json()["role"] == "viewer"
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["data"]) == ("member.updated", response.json())
    seq = event["seq"]
    assert_problem(await team["admin"].patch(f"{base}/{member}", json={"role": "admin"}), 403)
    assert_problem(await team["admin"].patch(f"{base}/{admin}", json={"role": "member"}), 403)
    assert_problem(await team["owner"].patch(f"{base}/{owner}", json={"role": "admin"}), 403)
    assert_problem(
        await team["owner"].patch(f"{base}/{member}", json={"role": "owner"}), 422, field="role"
    )
    assert_problem(await team["viewer"].patch(f"{base}/{member}", json={"role": "member"}), 403)
    assert_problem(await team["outsider"].patch(f"{base}/{member}", json={"role": "member"}), 404)
    assert_problem(
        await team["owner"].patch(f"{base}/{team.user_id('outsider')}", json={"role": "member"}),
        404,
    )
    assert_problem(await team["owner"].patch(f"{base}/not-a-uuid", json={"role": "member"}), 422)
    assert await last_seq(team["owner"], team.project_id) == seq
    assert (
        await team["owner"].patch(f"{base}/{admin}", json={"role": "member"})
    ).status_code == 200


async def test_remove_member_unassigns_tasks(team: Team) -> None:
    pid = team.project_id
    member = team.user_id("member")
    t1 = await create_task(team["owner"], pid, "a", assignee_id=member)
    t2 = await create_task(team["owner"], pid, "b", assignee_id=member)
    other = await create_task(team["owner"], pid, "c", assignee_id=team.user_id("admin"))
    seq = await last_seq(team["owner"], pid)
    response = await team["admin"].delete(
        f"{API}/projects/{pid}/members/{member}", headers={"X-Request-ID": "rm-1"}
    )
    assert response.status_code == 204
    log = await events(team["owner"], pid, after_seq=seq)
    assert [e["name"] for e in log] == ["task.updated", "task.updated", "member.removed"]
    assert all(e["request_id"] == "rm-1" for e in log)
    assert log[-1]["data"] == {"user_id": member}
    for task in (t1, t2):
        now = (await team["owner"].get(f"{API}/tasks/{task['id']}")).json()
        assert now["assignee_id"] is None
        assert now["version"] == task["version"] + 1
        assert now in [e["data"] for e in log]
    assert (await team["owner"].get(f"{API}/tasks/{other['id']}")).json()["assignee_id"] is not None
    assert_problem(await team["member"].get(f"{API}/projects/{pid}"), 404)


async def test_remove_rules_and_leave(team: Team) -> None:
    base = f"{API}/projects/{team.project_id}/members"
    seq = await last_seq(team["owner"], team.project_id)
    assert_problem(await team["admin"].delete(f"{base}/{team.user_id('owner')}"), 403)
    assert_problem(await team["owner"].delete(f"{base}/{team.user_id('owner')}"), 403)
    assert_problem(await team["member"].delete(f"{base}/{team.user_id('viewer')}"), 403)
    assert_problem(await team["outsider"].delete(f"{base}/{team.user_id('viewer')}"), 404)
    assert_problem(await team.anonymous.delete(f"{base}/{team.user_id('viewer')}"), 401)
    assert_problem(await team["owner"].delete(f"{base}/{team.user_id('outsider')}"), 404)
    assert await last_seq(team["owner"], team.project_id) == seq
    # A viewer may leave; the owner may remove an admin.
    assert (await team["viewer"].delete(f"{base}/{team.user_id('viewer')}")).status_code == 204
    assert (await team["owner"].delete(f"{base}/{team.user_id('admin')}")).status_code == 204
    assert set((await _roles(team)).values()) == {"owner", "member"}


async def test_transfer_ownership(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/transfer"
    member = team.user_id("member")
    seq = await last_seq(team["owner"], team.project_id)
    await expect_statuses(
        team,
        {"admin": 403, "member": 403, "viewer": 403, "outsider": 404, "anonymous": 401},
        lambda c, _r: c.post(url, json={"user_id": member}),
    )
    for bad in (
        team.user_id("outsider"),
        team.user_id("owner"),
        "00000000-0000-0000-0000-000000000000",
    ):
        assert_problem(await team["owner"].post(url, json={"user_id": bad}), 422, field="user_id")
    assert_problem(await team["owner"].post(url, json={"user_id": "nope"}), 422, field="user_id")
    assert await last_seq(team["owner"], team.project_id) == seq
    response = await team["owner"].post(url, json={"user_id": member})
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    roles = await _roles(team)
    assert list(roles.values()).count("owner") == 1
    assert roles[member] == "owner"
    assert roles[team.user_id("owner")] == "admin"
    log = await events(team["owner"], team.project_id, after_seq=seq)
    assert [(e["name"], e["data"]["role"]) for e in log] == [
        ("member.updated", "admin"),
        ("member.updated", "owner"),
    ]
    # The new owner can delete; the old one no longer can.
    assert_problem(await team["owner"].delete(f"{API}/projects/{team.project_id}"), 403)
