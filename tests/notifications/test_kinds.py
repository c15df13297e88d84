"""Which change notifies whom: assigned, mentioned, commented, invited; never the actor."""

from __future__ import annotations

from typing import Any

from tests.helpers import API, ApiClient, Team, create_task, invite, verify_email
from tests.notifications.conftest import NAMES, rename
from tests.notifications.helpers import kinds, unread


async def _comment(client: ApiClient, task: dict[str, Any], body: str) -> dict[str, Any]:
    response = await client.post(f"{API}/tasks/{task['id']}/comments", json={"body": body})
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def test_assigned_on_create_and_on_change(named_team: Team) -> None:
    team = named_team
    task = await create_task(
        team["member"], team.project_id, "Ship it", assignee_id=team.user_id("admin")
    )
    [note] = await unread(team["admin"])
    assert note["kind"] == "assigned"
    assert (note["task_id"], note["project_id"], note["actor_id"]) == (
        task["id"],
        team.project_id,
        team.user_id("member"),
    )
    assert note["data"] == {"title": "Ship it"} and note["read_at"] is None
    # Assigning yourself, or a change that keeps the assignee, tells nobody.
    await create_task(team["member"], team.project_id, "Mine", assignee_id=team.user_id("member"))
    url = f"{API}/tasks/{task['id']}"
    assert (await team["owner"].patch(url, json={"title": "Ship it now"})).status_code == 200
    assert await kinds(team["member"]) == []
    assert len(await unread(team["admin"])) == 1
    # A new assignee (a viewer can be assigned) is told; the previous one is not again.
    assert (
        await team["owner"].patch(url, json={"assignee_id": team.user_id("viewer")})
    ).status_code == 200
    [note] = await unread(team["viewer"])
    assert (note["kind"], note["actor_id"], note["data"]["title"]) == (
        "assigned",
        team.user_id("owner"),
        "Ship it now",
    )
    assert len(await unread(team["admin"])) == 1
    assert (
        await team["owner"].patch(url, json={"assignee_id": team.user_id("owner")})
    ).status_code == 200
    assert await kinds(team["owner"]) == []


async def test_commented_to_creator_assignee_and_watchers(named_team: Team) -> None:
    team = named_team
    task = await create_task(
        team["owner"], team.project_id, "Discuss", assignee_id=team.user_id("member")
    )
    await team["member"].post(f"{API}/notifications/read-all")
    watch = await team["viewer"].post(f"{API}/tasks/{task['id']}/watch")
    assert watch.status_code == 200, watch.text
    comment = await _comment(team["admin"], task, "First thoughts\n\nmore   lines")
    for role in ("owner", "member", "viewer"):
        [note] = await unread(team[role])
        assert note["kind"] == "commented", role
        assert note["actor_id"] == team.user_id("admin")
        assert note["data"] == {
            "title": "Discuss",
            "comment_id": comment["id"],
            "excerpt": "First thoughts more lines",
        }
    assert await kinds(team["admin"]) == []
    # The assignee commenting is told nothing; the creator and the watcher are.
    await _comment(team["member"], task, "Done.")
    assert await kinds(team["member"], task["id"]) == ["commented"]
    assert await kinds(team["owner"], task["id"]) == ["commented", "commented"]
    assert await kinds(team["viewer"], task["id"]) == ["commented", "commented"]
    # Unwatching stops it; a long body is cut to an excerpt.
    assert (await team["viewer"].delete(f"{API}/tasks/{task['id']}/watch")).status_code == 204
    await _comment(team["admin"], task, "x" * 500)
    assert len(await kinds(team["viewer"], task["id"])) == 2
    [latest, *_] = await unread(team["owner"])
    assert len(latest["data"]["excerpt"]) == 200 and latest["data"]["excerpt"].endswith("…")


async def test_a_mention_wins_over_commented(named_team: Team) -> None:
    team = named_team
    task = await create_task(
        team["owner"], team.project_id, "Review", assignee_id=team.user_id("member")
    )
    await team["member"].post(f"{API}/notifications/read-all")
    comment = await _comment(team["admin"], task, "@Mia and @Vic, please look.")
    [note] = await unread(team["member"])
    assert note["kind"] == "mentioned"
    assert note["data"]["in"] == "comment" and note["data"]["comment_id"] == comment["id"]
    assert await kinds(team["viewer"]) == ["mentioned"]
    assert await kinds(team["owner"]) == ["commented"]
    # Mentioning yourself does nothing.
    await _comment(team["admin"], task, "note to self @Ada")
    assert await kinds(team["admin"]) == []


async def test_a_mention_matches_a_name_in_any_case_beyond_ascii(named_team: Team) -> None:
    team = named_team
    await rename(team, "viewer", "Émile")
    task = await create_task(team["owner"], team.project_id, "Accents")
    await _comment(team["admin"], task, "@émile, a look?")
    assert await kinds(team["viewer"]) == ["mentioned"]


async def test_mentioned_in_a_description_once(named_team: Team) -> None:
    team = named_team
    task = await create_task(
        team["owner"],
        team.project_id,
        "Plan",
        description="@Mia drafts, @Olive reviews",
        assignee_id=team.user_id("member"),
    )
    # One notification per person per change: the assignment says more than the mention.
    assert await kinds(team["member"]) == ["assigned"]
    assert await kinds(team["owner"]) == []
    url = f"{API}/tasks/{task['id']}"
    response = await team["owner"].patch(url, json={"description": "@Mia drafts, @Ada reviews"})
    assert response.status_code == 200
    [note] = await unread(team["admin"])
    assert (note["kind"], note["data"]) == ("mentioned", {"title": "Plan", "in": "description"})
    # Editing around a mention that was already there does not repeat it.
    response = await team["owner"].patch(url, json={"description": "@Mia drafts; @Ada reviews."})
    assert response.status_code == 200
    assert await kinds(team["admin"]) == ["mentioned"]
    assert await kinds(team["member"]) == ["assigned"]


async def test_invited_tells_a_verified_account(named_team: Team, make_client: Any) -> None:
    team = named_team
    invitee = make_client()
    await invitee.register()
    await invite(team["owner"], team.project_id, invitee.email, "member")
    assert await unread(invitee) == []  # not verified yet: not proven to be that address
    await verify_email(invitee)
    invitation = await invite(team["admin"], team.project_id, invitee.email, "viewer")
    [note] = await unread(invitee)
    assert note["kind"] == "invited"
    assert (note["project_id"], note["task_id"], note["actor_id"]) == (
        team.project_id,
        None,
        team.user_id("admin"),
    )
    assert note["data"] == {
        "project_name": team.project["name"],
        "invitation_id": invitation["id"],
        "role": "viewer",
        # The invitee shares no project with the admin: this is how a client names them.
        "actor_name": NAMES["admin"],
    }
    # An address without an account: the same answer, nobody to tell.
    await invite(team["owner"], team.project_id, "nobody-here@example.com", "member")
