"""Random interleavings: writes across projects, joins, leaves, deletes, disconnects.

A client keeps a replica with GET /sync and WebSocket `subscribe_all`, dropping whatever
was in flight at each disconnect and resuming from the last cursor frame it applied (with
`after`, so nothing comes twice). Whatever the interleaving, at the end its replica equals
the server's state and it applied no event twice and skipped none (Replica checks both).

Seeded and bounded here (TM_SYNC_SOAK_EXAMPLES seeds of TM_SYNC_SOAK_STEPS steps); `make
soak` runs many more. A failing seed is in the test id: rerun it with `-k "seed-N"`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest

from tests.helpers import API, ApiClient, add_member, create_project, create_task
from tests.realtime.wsclient import live
from tests.server import RunningServer
from tests.sync.replica import Replica, server_state, sync_all
from tests.sync.stream import Stream

EXAMPLES = int(os.environ.get("TM_SYNC_SOAK_EXAMPLES", "3"))
STEPS = int(os.environ.get("TM_SYNC_SOAK_STEPS", "30"))
SEED_BASE = int(os.environ.get("TM_SYNC_SOAK_SEED", "1000"))

ACTIONS = ("write", "write", "write", "write", "join", "leave", "drop", "connect", "sync", "pump")


class World:
    """The server side of the run: who is in which project, and their tasks."""

    def __init__(self, rng: random.Random, owner: ApiClient, carol: ApiClient) -> None:
        self.rng = rng
        self.owner = owner
        self.carol = carol
        self.owned: list[str] = []  # the owner's projects
        self.joined: set[str] = set()  # of those, the ones carol is in
        self.own: str = ""  # carol's own project
        self.tasks: dict[str, list[str]] = {}

    async def new_project(self) -> None:
        project = await create_project(self.owner, f"R{len(self.owned)}")
        self.owned.append(project["id"])
        self.tasks[project["id"]] = []

    async def write(self) -> None:
        pid = self.rng.choice([*self.owned, self.own])
        writer = self.carol if pid == self.own else self.owner
        tasks = self.tasks[pid]
        op = self.rng.choice(["create", "create", "patch", "move", "delete"]) if tasks else "create"
        if op == "create":
            tasks.append((await create_task(writer, pid, f"t{self.rng.randrange(1000)}"))["id"])
            return
        task_id = self.rng.choice(tasks)
        if op == "patch":
            body = {"title": f"p{self.rng.randrange(1000)}", "priority": "high"}
            response = await writer.patch(f"{API}/tasks/{task_id}", json=body)
        elif op == "move":
            status = self.rng.choice(["todo", "in_progress", "done"])
            response = await writer.post(f"{API}/tasks/{task_id}/move", json={"status": status})
        else:
            tasks.remove(task_id)
            response = await writer.delete(f"{API}/tasks/{task_id}")
        assert response.status_code in (200, 204), response.text

    async def join(self) -> None:
        candidates = [p for p in self.owned if p not in self.joined]
        if candidates:
            pid = self.rng.choice(candidates)
            await add_member(self.owner, pid, self.carol, self.rng.choice(["member", "viewer"]))
            self.joined.add(pid)

    async def leave(self) -> None:
        if not self.joined:
            return
        pid = self.rng.choice(sorted(self.joined))
        self.joined.discard(pid)
        if self.rng.random() < 0.2:  # sometimes the project goes altogether
            response = await self.owner.delete(f"{API}/projects/{pid}")
            self.owned.remove(pid)
            await self.new_project()
        else:
            response = await self.carol.delete(
                f"{API}/projects/{pid}/members/{self.carol.user['id']}"
            )
        assert response.status_code == 204, response.text


async def _connect(
    stack: AsyncExitStack, server: RunningServer, carol: ApiClient, replica: Replica
) -> Stream:
    ws = await stack.enter_async_context(live(server.ws_url, carol))
    stream = Stream(ws, replica)
    await stream.start(replica.cursor, exact=True)
    return stream


async def run_one(seed: int, server: RunningServer, make_client: Callable[[], ApiClient]) -> None:
    rng = random.Random(seed)
    owner, carol = make_client(), make_client()
    await owner.register()
    await carol.register()
    world = World(rng, owner, carol)
    for _ in range(3):
        await world.new_project()
    world.own = (await create_project(carol, "Carol's"))["id"]
    world.tasks[world.own] = []
    await world.join()
    replica = Replica()
    await sync_all(carol, replica, limit=rng.choice([3, 50]))
    stream: Stream | None = None
    stack: AsyncExitStack | None = None
    log: list[str] = []
    try:
        for _ in range(STEPS):
            action = rng.choice(ACTIONS)
            log.append(action)
            if action in ("write", "join", "leave"):
                await getattr(world, action)()
            elif action == "drop" and stack is not None:
                await stack.aclose()  # whatever was in flight is lost with the socket
                stack = stream = None
            elif action == "connect" and stack is None:
                stack = AsyncExitStack()
                stream = await _connect(stack, server, carol, replica)
            elif action == "sync" and stack is None:
                await sync_all(carol, replica, limit=rng.choice([2, 500]))
            elif action == "pump" and stream is not None:
                await stream.drain(0.05)
        if stack is None:
            stack = AsyncExitStack()
            stream = await _connect(stack, server, carol, replica)
        assert stream is not None
        await stream.settle(await server_state(carol))
    except BaseException as exc:
        exc.add_note(f"seed {seed}: {' '.join(log)}")
        raise
    finally:
        if stack is not None:
            await stack.aclose()
    assert set(replica.projects) == world.joined | {world.own}


@pytest.mark.parametrize(
    "seed", [SEED_BASE + i for i in range(EXAMPLES)], ids=lambda s: f"seed-{s}"
)
async def test_random_interleavings_converge(
    seed: int, server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    await run_one(seed, server, make_client)
