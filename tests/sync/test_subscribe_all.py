"""WebSocket `subscribe_all`: every visible project on one subscription, joins, leaves, resume."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import delete

from taskmanager.events.models import Event
from tests import backends
from tests.conftest import StartServer
from tests.helpers import API, ApiClient, add_member, create_project, create_task
from tests.realtime.wsclient import live
from tests.server import RunningServer
from tests.sync.replica import Replica, server_state, sync_all
from tests.sync.stream import Stream


async def _user(make_client: Callable[[], ApiClient]) -> ApiClient:
    client = make_client()
    await client.register()
    return client


async def test_from_now_follows_every_project(
    server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    alice = await _user(make_client)
    first = await create_project(alice, "First")
    second = await create_project(alice, "Second")
    replica = Replica()
    await sync_all(alice, replica)
    async with live(server.ws_url, alice) as ws:
        stream = Stream(ws, replica)
        reply = await stream.start()
        assert sorted(reply["projects"]) == sorted([first["id"], second["id"]])
        assert (await stream.next())["type"] == "cursor"
        task = await create_task(alice, first["id"], "one")
        await create_task(alice, second["id"], "two")
        await alice.patch(f"{API}/tasks/{task['id']}", json={"status": "done"})
        await stream.settle(await server_state(alice))
        names = [f["name"] for f in stream.frames if f["type"] == "event"]
        assert sorted(names) == ["task.created", "task.created", "task.updated"]


async def test_resumes_from_a_sync_cursor_and_reconnects_without_gap_or_repeat(
    server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    alice = await _user(make_client)
    projects = [(await create_project(alice, f"P{i}"))["id"] for i in range(3)]
    replica = Replica()
    await sync_all(alice, replica)
    # Written after the /sync cursor, before the socket: replayed from the log.
    for pid in projects:
        await create_task(alice, pid, "while offline")
    async with live(server.ws_url, alice) as ws:
        stream = Stream(ws, replica)
        await stream.start(replica.cursor)
        await stream.settle(await server_state(alice))
        await create_task(alice, projects[0], "live")
        await stream.settle(await server_state(alice))
    # Disconnected: more writes, then resume from the last cursor frame.
    for pid in projects:
        await create_task(alice, pid, "while away")
    async with live(server.ws_url, alice) as ws:
        stream = Stream(ws, replica)
        await stream.start(replica.cursor)
        await stream.settle(await server_state(alice))
    # Replica.apply_event fails on any repeat or gap; every event came exactly once.
    assert len(replica.seen) == 7
    # And the cursor of a frame is good for GET /sync too.
    await create_task(alice, projects[1], "for /sync")
    await sync_all(alice, replica)
    assert replica.state() == await server_state(alice)


async def test_joining_later_appears_whole_and_leaving_is_removed(
    server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    owner, bob = await _user(make_client), await _user(make_client)
    shared = await create_project(owner, "Shared")
    for i in range(3):
        await create_task(owner, shared["id"], f"before {i}")
    await create_project(bob, "Bob's")
    replica = Replica()
    await sync_all(bob, replica)
    async with live(server.ws_url, bob) as ws:
        stream = Stream(ws, replica)
        await stream.start(replica.cursor)
        await add_member(owner, shared["id"], bob, "member")
        added = await stream.until(lambda f: f["type"] == "project_added")
        assert added["project_id"] == shared["id"]
        await create_task(owner, shared["id"], "after the join")
        await stream.settle(await server_state(bob))
        assert len(replica.tasks[shared["id"]]) == 4

        left = await bob.delete(f"{API}/projects/{shared['id']}/members/{bob.user['id']}")
        assert left.status_code == 204
        removed = await stream.until(lambda f: f["type"] == "project_removed")
        assert removed["project_id"] == shared["id"]
        await create_task(owner, shared["id"], "not for bob")
        await stream.settle(await server_state(bob))
        assert shared["id"] not in replica.projects
        # The member.removed about bob is the last event of that project he got.
        last = [f for f in stream.frames if f.get("project_id") == shared["id"]][-2]
        assert last["name"] == "member.removed"


async def test_a_project_one_creates_is_followed_at_once(start_server: StartServer) -> None:
    """No event announces a new project; the creator's streams follow it at once (through
    the user's channel, on every instance), not at the next membership check: an hour
    here. On PostgreSQL + Redis it is created through another instance."""
    slow_check = {"realtime_check_interval_seconds": 3600}
    one = await start_server(**slow_check)
    two = await start_server(**slow_check) if backends.BACKEND == "postgres" else one
    async with ApiClient(base_url=one.base_url, timeout=30) as alice:
        await alice.register()
        replica = Replica()
        await sync_all(alice, replica)
        async with live(one.ws_url, alice) as ws:
            stream = Stream(ws, replica)
            await stream.start(replica.cursor)
            response = await alice.post(f"{two.base_url}{API}/projects", json={"name": "New"})
            assert response.status_code == 201, response.text
            added = await stream.until(lambda f: f["type"] == "project_added", timeout=5)
            assert added["project_id"] == response.json()["id"]
            await create_task(alice, added["project_id"], "first")
            await stream.settle(await server_state(alice))


async def test_pruned_gap_sends_the_project_again(
    server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    alice = await _user(make_client)
    project = await create_project(alice, "Pruned")
    replica = Replica()
    await sync_all(alice, replica)
    for i in range(3):
        await create_task(alice, project["id"], f"t{i}")
    async with server.resources.session_factory() as db:
        await db.execute(
            delete(Event).where(Event.project_id == uuid.UUID(project["id"]), Event.seq <= 1)
        )
        await db.commit()
    async with live(server.ws_url, alice) as ws:
        stream = Stream(ws, replica)
        await stream.start(replica.cursor)
        added = await stream.until(lambda f: f["type"] == "project_added")
        assert added == {"type": "project_added", "project_id": project["id"], "seq": 3}
        await stream.settle(await server_state(alice))


async def test_bad_cursors_are_refused_and_the_socket_stays(
    server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    alice, mallory = await _user(make_client), await _user(make_client)
    await create_project(alice, "Hers")
    hers = Replica()
    await sync_all(alice, hers)
    async with live(server.ws_url, mallory) as ws:
        for cursor in (hers.cursor, "garbage", 12, hers.cursor + "x"):  # type: ignore[operator]
            await ws.send({"type": "subscribe_all", "cursor": cursor})
            reply = await ws.recv()
            assert reply["type"] == "error" and reply["code"] == "bad_request", reply
        mine = Replica()
        await sync_all(mallory, mine)
        for after in ([1], {"not-a-uuid": 1}, {str(uuid.uuid4()): -1}, {str(uuid.uuid4()): True}):
            await ws.send({"type": "subscribe_all", "cursor": mine.cursor, "after": after})
            reply = await ws.recv()
            assert reply["type"] == "error" and reply["code"] == "bad_request", reply
        await ws.send({"type": "subscribe_all", "after": {}})
        assert (await ws.recv())["code"] == "bad_request"
        bootstrap = (await alice.get(f"{API}/sync", params={"limit": 1})).json()
        assert bootstrap["has_more"]
        await ws.send({"type": "ping"})
        assert (await ws.recv())["type"] == "pong"
    async with live(server.ws_url, alice) as ws:
        await ws.send({"type": "subscribe_all", "cursor": bootstrap["cursor"]})
        reply = await ws.recv()
        assert reply["code"] == "bad_request" and "bootstrap" in reply["message"]
