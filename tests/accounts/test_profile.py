"""Profile edits and account deletion: what stays, what goes, and the events it makes."""

from __future__ import annotations

from collections.abc import Callable

from tests.helpers import (
    API,
    PASSWORD,
    ApiClient,
    add_member,
    assert_problem,
    create_project,
    create_task,
    events,
    last_seq,
)


async def test_display_name_can_be_changed(new_client: Callable[[], ApiClient]) -> None:
    user = new_client()
    await user.register()
    response = await user.patch(f"{API}/auth/me", json={"display_name": "  Ada Lovelace "})
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Ada Lovelace"
    assert (await user.get(f"{API}/auth/me")).json()["display_name"] == "Ada Lovelace"
    for bad in ({"display_name": ""}, {"display_name": "x" * 101}, {}, {"email": "a@b.c"}):
        assert_problem(await user.patch(f"{API}/auth/me", json=bad), 422)
    assert_problem(await new_client().patch(f"{API}/auth/me", json={"display_name": "X"}), 401)


async def test_an_owner_cannot_delete_the_account(new_client: Callable[[], ApiClient]) -> None:
    owner = new_client()
    await owner.register()
    await create_project(owner, "Mine")
    response = await owner.request("DELETE", f"{API}/auth/me", json={"password": PASSWORD})
    assert assert_problem(response, 409)["code"] == "owns_projects"
    assert (await owner.get(f"{API}/auth/me")).status_code == 200


async def test_deleting_keeps_comments_and_unassigns_tasks_with_events(
    new_client: Callable[[], ApiClient],
) -> None:
    owner, leaver = new_client(), new_client()
    await owner.register()
    await leaver.register()
    project = await create_project(owner, "Shared")
    pid = project["id"]
    await add_member(owner, pid, leaver, "member")
    task = await create_task(owner, pid, "Theirs", assignee_id=leaver.user["id"])
    comment = await leaver.post(f"{API}/tasks/{task['id']}/comments", json={"body": "bye all"})
    assert comment.status_code == 201
    before = await last_seq(owner, pid)

    wrong = await leaver.request("DELETE", f"{API}/auth/me", json={"password": "nope nope"})
    assert_problem(wrong, 422, field="password")
    response = await leaver.request("DELETE", f"{API}/auth/me", json={"password": PASSWORD})
    assert response.status_code == 204, response.text

    assert_problem(await leaver.get(f"{API}/auth/me"), 401)
    refused = await new_client().post(
        f"{API}/auth/login", json={"email": leaver.email, "password": PASSWORD}
    )
    assert_problem(refused, 401)
    assert (await owner.get(f"{API}/tasks/{task['id']}")).json()["assignee_id"] is None
    [kept] = (await owner.get(f"{API}/tasks/{task['id']}/comments")).json()["items"]
    assert (kept["body"], kept["author_id"]) == ("bye all", None)
    members = (await owner.get(f"{API}/projects/{pid}/members")).json()
    assert [m["user"]["id"] for m in members] == [owner.user["id"]]
    log = await events(owner, pid, before)
    assert [e["name"] for e in log] == ["task.updated", "member.removed"]
    assert log[0]["data"]["assignee_id"] is None


async def test_password_checks_are_throttled_like_login(
    new_client: Callable[[], ApiClient],
) -> None:
    user = new_client()
    await user.register()
    statuses = []
    for _ in range(6):
        response = await user.request("DELETE", f"{API}/auth/me", json={"password": "wrong!!"})
        statuses.append(response.status_code)
    assert statuses[:5] == [422] * 5
    assert_problem(response, 429)
    # Even the right password waits now; the account is still there.
    right = await user.request("DELETE", f"{API}/auth/me", json={"password": PASSWORD})
    assert_problem(right, 429)
    assert (await user.get(f"{API}/auth/me")).status_code == 200
