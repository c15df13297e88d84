"""Presence over real WebSockets: who is viewing or editing, merged per user, gone on close,
lapsing without heartbeats, members only, rate limited, and shared across instances."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from taskmanager.realtime.presence_store import DEADLINES_KEY, project_key
from tests import backends
from tests.conftest import StartServer
from tests.helpers import (
    API,
    ApiClient,
    Team,
    create_project,
    create_task,
    make_team,
    team,
    team_users,
)
from tests.processes import RedisProcess, make_token, running_server, server_env
from tests.realtime.wsclient import LiveClient, live
from tests.server import RunningServer

__all__ = ["team", "team_users"]

Users = list[dict[str, Any]]


async def presence(ws: LiveClient, timeout: float = 5.0) -> dict[str, Any]:
    """The next presence frame (events and pongs in between are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await ws.recv(max(0.01, deadline - time.monotonic()))
        if message["type"] in ("presence", "error"):
            return message


async def until(ws: LiveClient, check: Callable[[Users], bool], timeout: float = 10.0) -> Users:
    """Presence frames until one whose users pass `check` (earlier states may show first)."""
    deadline = time.monotonic() + timeout
    while True:
        message = await presence(ws, deadline - time.monotonic())
        assert message["type"] == "presence", message
        if check(message["users"]):
            users: Users = message["users"]
            return users


def ids(users: Users) -> set[str]:
    return {u["user_id"] for u in users}


async def joined(ws: LiveClient, project_id: str, **extra: Any) -> Users:
    """Subscribe, announce (viewing unless told), and return the list given in answer."""
    assert (await ws.subscribe(project_id))["type"] == "subscribed"
    await ws.send({"type": "presence", "project_id": project_id, "state": "viewing", **extra})
    # The socket may still follow other projects: announcing here ends its entry there, and
    # that project's new list can arrive first.
    answer = await presence(ws)
    while answer["type"] == "presence" and answer["project_id"] != project_id:
        answer = await presence(ws)
    assert answer["type"] == "presence", answer
    users: Users = answer["users"]
    return users


async def test_two_users_see_each_other_with_the_contract_shape(
    server: RunningServer, team: Team
) -> None:
    pid = team.project_id
    owner, member = team.user_id("owner"), team.user_id("member")
    async with live(server.ws_url, team["owner"]) as a, live(server.ws_url, team["member"]) as b:
        assert ids(await joined(a, pid)) == {owner}
        both = await joined(b, pid)
        assert ids(both) == {owner, member}
        frame = await presence(a)
        assert frame == {"type": "presence", "project_id": pid, "users": both}
        mine = {"user_id": member, "display_name": "Test User", "task_id": None, "state": "viewing"}
        assert mine in both
        # Saying the same again is a heartbeat: the sender gets the list, nobody else a frame.
        await b.send({"type": "presence", "project_id": pid, "state": "viewing"})
        assert ids((await presence(b))["users"]) == {owner, member}
        assert await a.nothing_within(0.3)


async def test_a_second_tab_does_not_duplicate_and_editing_wins(
    server: RunningServer, team: Team
) -> None:
    pid = team.project_id
    task = await create_task(team["member"], pid, "Being edited")
    member = team.user_id("member")
    async with live(server.ws_url, team["owner"]) as watcher:
        await joined(watcher, pid)
        async with live(server.ws_url, team["member"]) as tab1:
            await joined(tab1, pid)
            await until(watcher, lambda users: member in ids(users))
            async with live(server.ws_url, team["member"]) as tab2:
                users = await joined(tab2, pid, state="editing", task_id=task["id"])
                mine = [u for u in users if u["user_id"] == member]
                assert mine == [
                    {
                        "user_id": member,
                        "display_name": "Test User",
                        "task_id": task["id"],
                        "state": "editing",
                    }
                ]
                seen = await until(
                    watcher,
                    lambda users: len(users) == 2 and any(u["state"] == "editing" for u in users),
                )
                assert [u["task_id"] for u in seen if u["user_id"] == member] == [task["id"]]
            # The editing tab closed: the other tab still shows the user, viewing.
            seen = await until(watcher, lambda users: all(u["state"] == "viewing" for u in users))
            assert ids(seen) == {team.user_id("owner"), member}
        seen = await until(watcher, lambda users: member not in ids(users))
        assert ids(seen) == {team.user_id("owner")}


async def test_announcing_in_another_project_leaves_the_first(
    server: RunningServer, team: Team
) -> None:
    """A socket is in one place at a time: the board follows every project (subscribe_all)
    and switching projects must not leave its user shown in the one it left."""
    pid = team.project_id
    second = str((await create_project(team["admin"], "Second"))["id"])
    admin = team.user_id("admin")
    async with live(server.ws_url, team["owner"]) as watcher:
        await joined(watcher, pid)
        async with live(server.ws_url, team["admin"]) as switcher:
            await joined(switcher, pid)
            await until(watcher, lambda users: admin in ids(users))
            assert ids(await joined(switcher, second)) == {admin}
            await until(watcher, lambda users: admin not in ids(users))
            # Still following the first project, and back: shown there again.
            await switcher.send({"type": "presence", "project_id": pid, "state": "viewing"})
            await until(watcher, lambda users: admin in ids(users))


async def test_closing_and_unsubscribing_remove_presence_at_once(
    server: RunningServer, team: Team
) -> None:
    pid = team.project_id
    admin = team.user_id("admin")
    async with live(server.ws_url, team["owner"]) as watcher:
        await joined(watcher, pid)
        async with live(server.ws_url, team["admin"]) as other:
            await joined(other, pid)
            await until(watcher, lambda users: admin in ids(users))
            await other.send({"type": "unsubscribe", "project_id": pid})
            assert (await other.recv())["type"] == "unsubscribed"
            await until(watcher, lambda users: admin not in ids(users))
            await joined(other, pid)
            await until(watcher, lambda users: admin in ids(users))
        await until(watcher, lambda users: admin not in ids(users))
    # Nothing is left in Redis for sockets that are gone.
    redis = server.resources.redis
    assert await redis.hgetall(project_key(pid)) == {}
    assert await redis.zcard(DEADLINES_KEY) == 0


async def test_non_members_and_bad_messages_are_refused_and_change_nothing(
    server: RunningServer, team: Team
) -> None:
    pid = team.project_id
    other_project = await create_project(team["outsider"], "Elsewhere")
    foreign_task = await create_task(team["outsider"], str(other_project["id"]), "Not yours")
    async with live(server.ws_url, team["owner"]) as watcher:
        await joined(watcher, pid)
        async with live(server.ws_url, team["outsider"]) as outsider:
            assert (await outsider.subscribe(pid))["code"] == "forbidden"
            await outsider.send({"type": "presence", "project_id": pid, "state": "viewing"})
            refused = await presence(outsider)
            assert refused["type"] == "error"
            assert refused["code"] == "forbidden"
            assert refused["project_id"] == pid
        async with live(server.ws_url, team["member"]) as member:
            # A member must follow the project before announcing presence in it.
            await member.send({"type": "presence", "project_id": pid, "state": "viewing"})
            assert (await presence(member))["code"] == "forbidden"
            assert (await member.subscribe(pid))["type"] == "subscribed"
            for bad in (
                {"project_id": "nope", "state": "viewing"},
                {"project_id": pid, "state": "idle"},
                {"project_id": pid},
                {"project_id": pid, "state": "editing"},
                {"project_id": pid, "state": "viewing", "task_id": 7},
                {"project_id": pid, "state": "editing", "task_id": foreign_task["id"]},
            ):
                await member.send({"type": "presence", **bad})
                answer = await presence(member)
                assert answer["type"] == "error", (bad, answer)
                assert answer["code"] == "bad_request", (bad, answer)
            await member.send({"type": "ping"})
            assert (await member.recv())["type"] == "pong"
        assert await watcher.nothing_within(0.3)


async def test_presence_messages_are_rate_limited_per_connection(
    server: RunningServer, team: Team
) -> None:
    pid = team.project_id
    limit = server.settings.presence_max_messages
    async with live(server.ws_url, team["viewer"]) as ws:
        assert (await ws.subscribe(pid))["type"] == "subscribed"
        for _ in range(limit):
            await ws.send({"type": "presence", "project_id": pid, "state": "viewing"})
            assert (await presence(ws))["type"] == "presence"
        await ws.send({"type": "presence", "project_id": pid, "state": "viewing"})
        refused = await presence(ws)
        assert refused["type"] == "error"
        assert refused["code"] == "rate_limited"
        assert 1 <= refused["retry_after"] <= 10
        # The socket stays open and its presence stands.
        await ws.send({"type": "ping"})
        assert (await ws.recv())["type"] == "pong"
        async with live(server.ws_url, team["owner"]) as other:
            users = await joined(other, pid)
            assert team.user_id("viewer") in ids(users)


async def test_a_removed_member_disappears_and_stops_receiving_presence(
    server: RunningServer, team: Team
) -> None:
    pid = team.project_id
    member = team.user_id("member")
    async with (
        live(server.ws_url, team["owner"]) as owner,
        live(server.ws_url, team["member"]) as removed,
    ):
        await joined(owner, pid)
        await joined(removed, pid)
        await until(owner, lambda users: member in ids(users))
        response = await team["owner"].delete(f"{API}/projects/{pid}/members/{member}")
        assert response.status_code == 204, response.text
        seen = await until(owner, lambda users: member not in ids(users))
        assert ids(seen) == {team.user_id("owner")}
        # The removed member's socket: the member.removed event, then forbidden, and
        # no presence frame after that.
        while True:
            message = await removed.recv()
            if message["type"] == "error":
                assert message["code"] == "forbidden"
                break
        async with live(server.ws_url, team["admin"]) as admin:
            await joined(admin, pid)
            await until(owner, lambda users: team.user_id("admin") in ids(users))
        assert await removed.nothing_within(0.3)


async def test_silent_sockets_lapse_and_come_back_when_they_heartbeat(
    start_server: StartServer,
) -> None:
    quick = await start_server(presence_ttl_seconds=1.0)
    crew = await make_team(quick.base_url)
    pid = crew.project_id
    member = crew.user_id("member")
    try:
        async with (
            live(quick.ws_url, crew["owner"]) as watcher,
            live(quick.ws_url, crew["member"]) as silent,
        ):
            await joined(watcher, pid)
            # The watcher keeps pinging; the other socket stays open but says nothing.
            beating = asyncio.create_task(heartbeat(watcher))
            try:
                await joined(silent, pid)
                await until(watcher, lambda users: member in ids(users))
                await until(watcher, lambda users: member not in ids(users))
                await silent.send({"type": "ping"})
                await until(watcher, lambda users: member in ids(users))
            finally:
                beating.cancel()
    finally:
        await crew.aclose()


async def heartbeat(ws: LiveClient) -> None:
    while True:
        await ws.send({"type": "ping"})
        await asyncio.sleep(0.1)


@pytest.mark.skipif(backends.BACKEND != "postgres", reason="needs a shared PostgreSQL + Redis")
@pytest.mark.postgres_only
async def test_presence_is_shared_across_instances(
    server: RunningServer, start_server: StartServer, team: Team
) -> None:
    other = await start_server()
    pid = team.project_id
    member = team.user_id("member")
    async with AsyncExitStack() as stack:
        b_client = await stack.enter_async_context(ApiClient(base_url=other.base_url, timeout=30))
        b_client.cookies.set("session", team["member"].cookies["session"])
        a = await stack.enter_async_context(live(server.ws_url, team["owner"]))
        b = await stack.enter_async_context(live(other.ws_url, b_client))
        await joined(a, pid)
        assert ids(await joined(b, pid)) == {team.user_id("owner"), member}
        await until(a, lambda users: member in ids(users))
        await b.ws.close()
        await until(a, lambda users: member not in ids(users))


@pytest.mark.skipif(backends.BACKEND != "postgres", reason="needs a shared PostgreSQL + Redis")
@pytest.mark.postgres_only
@pytest.mark.slow
async def test_the_presence_of_a_killed_instance_lapses(
    database_url: str, redis_server: RedisProcess
) -> None:
    """Real `taskmanager serve` processes: one is SIGKILLed with a socket announcing
    presence; nothing removes its entry but the expiry, swept by the survivor."""
    env = server_env(database_url, redis_server, presence_ttl_seconds=2)
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(running_server(env))
        b = await stack.enter_async_context(running_server(env))
        owner = await stack.enter_async_context(ApiClient(base_url=a.base_url, timeout=30))
        await owner.register()
        pid = str((await create_project(owner, "Across processes"))["id"])
        token = await make_token(owner)
        watcher = await stack.enter_async_context(live(a.ws_url, owner))
        await joined(watcher, pid)
        beating = asyncio.create_task(heartbeat(watcher))
        try:
            doomed = await stack.enter_async_context(
                live(b.ws_url, headers={"Authorization": f"Bearer {token}"})
            )
            task = await create_task(owner, pid)
            await joined(doomed, pid, state="editing", task_id=task["id"])
            await until(watcher, lambda users: any(u["state"] == "editing" for u in users))
            await b.stop(signal.SIGKILL, timeout=5)
            # The same user is still there through the watcher's socket, only viewing.
            seen = await until(
                watcher, lambda users: bool(users) and all(u["state"] == "viewing" for u in users)
            )
            assert [u["user_id"] for u in seen] == [owner.user["id"]]
        finally:
            beating.cancel()


async def test_a_redis_outage_is_an_error_frame_not_a_disconnect(
    start_server: StartServer, redis_server: RedisProcess
) -> None:
    running = await start_server(redis_url=redis_server.url)
    async with AsyncExitStack() as stack:
        owner = await stack.enter_async_context(ApiClient(base_url=running.base_url, timeout=30))
        await owner.register()
        pid = str((await create_project(owner, "Outage"))["id"])
        task = await create_task(owner, pid)
        bearer = {"Authorization": f"Bearer {await make_token(owner)}"}
        ws = await stack.enter_async_context(live(running.ws_url, headers=bearer))
        await joined(ws, pid)
        editing = {"type": "presence", "project_id": pid, "state": "editing", "task_id": task["id"]}

        await redis_server.kill()
        await ws.send(editing)
        refused = await presence(ws)
        assert refused["type"] == "error"
        assert (refused["code"], refused["project_id"]) == ("unavailable", pid)
        await ws.send({"type": "ping"})
        assert (await ws.recv())["type"] == "pong"

        await redis_server.start()
        # Said again once Redis is back, the same message is a change (it was never stored).
        for _ in range(5):
            await ws.send(editing)
            answer = await presence(ws)
            if answer["type"] == "presence":
                break
            await asyncio.sleep(0.5)
        me = {"user_id": owner.user["id"], "display_name": "Test User"}
        assert answer["users"] == [me | {"task_id": task["id"], "state": "editing"}], answer
