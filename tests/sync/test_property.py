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
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest

from tests import backends
from tests.helpers import API, ApiClient, create_project, create_task, verify_email
from tests.processes import RedisProcess, bearer, make_token, server_env
from tests.realtime.test_processes import servers
from tests.realtime.wsclient import live
from tests.server import RunningServer
from tests.sync.replica import Replica, server_state, sync_all
from tests.sync.stream import Stream
from tests.sync.test_processes import SECRET, verify_in

EXAMPLES = int(os.environ.get("TM_SYNC_SOAK_EXAMPLES", "3"))
STEPS = int(os.environ.get("TM_SYNC_SOAK_STEPS", "30"))
SEED_BASE = int(os.environ.get("TM_SYNC_SOAK_SEED", "1000"))

ACTIONS = ("write", "write", "write", "write", "join", "leave", "drop", "connect", "sync", "pump")


class World:
    """The server side of the run: who is in which project, and their tasks."""

    def __init__(
        self,
        rng: random.Random,
        owner: ApiClient,
        carol: ApiClient,
        *,
        verify: Callable[[ApiClient], Awaitable[None]] = verify_email,
    ) -> None:
        self.rng = rng
        self.verify = verify
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
            role = self.rng.choice(["member", "viewer"])
            response = await self.owner.post(
                f"{API}/projects/{pid}/invitations", json={"email": self.carol.email, "role": role}
            )
            assert response.status_code == 201, response.text
            await self.verify(self.carol)
            accepted = await self.carol.post(
                f"{API}/invitations/accept", json={"invitation_id": response.json()["id"]}
            )
            assert accepted.status_code == 200, accepted.text
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


@dataclass
class Setup:
    """Where the run happens: the clients, the WebSocket URLs to alternate between, and
    the faults it may inject besides disconnects."""

    owner: ApiClient
    carol: ApiClient
    ws_urls: list[str]
    headers: dict[str, str] | None = None  # instead of carol's cookie (tokens outlive Redis)
    verify: Callable[[ApiClient], Awaitable[None]] = verify_email
    restart_redis: Callable[[], Awaitable[None]] | None = None


async def run_one(seed: int, setup: Setup) -> None:
    rng = random.Random(seed)
    world = World(rng, setup.owner, setup.carol, verify=setup.verify)
    carol = setup.carol
    for _ in range(3):
        await world.new_project()
    world.own = (await create_project(carol, "Carol's"))["id"]
    world.tasks[world.own] = []
    await world.join()
    replica = Replica()
    await sync_all(carol, replica, limit=rng.choice([3, 50]))
    actions = ACTIONS + (("redis",) if setup.restart_redis else ())
    stream: Stream | None = None
    stack: AsyncExitStack | None = None
    log: list[str] = []

    async def connect() -> Stream:
        assert stack is not None
        url = rng.choice(setup.ws_urls)
        client = None if setup.headers else carol
        ws = await stack.enter_async_context(live(url, client, headers=setup.headers))
        opened = Stream(ws, replica)
        await opened.start(replica.cursor, exact=True)
        return opened

    try:
        for _ in range(STEPS):
            action = rng.choice(actions)
            log.append(action)
            if action in ("write", "join", "leave"):
                await getattr(world, action)()
            elif action == "drop" and stack is not None:
                await stack.aclose()  # whatever was in flight is lost with the socket
                stack = stream = None
            elif action == "connect" and stack is None:
                stack = AsyncExitStack()
                stream = await connect()
            elif action == "sync" and stack is None:
                await sync_all(carol, replica, limit=rng.choice([2, 500]))
            elif action == "pump" and stream is not None:
                await stream.drain(0.05)
            elif action == "redis" and setup.restart_redis is not None:
                await setup.restart_redis()
        if stack is None:
            stack = AsyncExitStack()
            stream = await connect()
        assert stream is not None
        await stream.settle(await server_state(carol))
    except BaseException as exc:
        exc.add_note(f"seed {seed}: {' '.join(log)}")
        raise
    finally:
        if stack is not None:
            await stack.aclose()
    # (Equal to the server's state already; the runs of one process test share users.)
    assert world.joined | {world.own} <= set(replica.projects)


SEEDS = [SEED_BASE + i for i in range(EXAMPLES)]


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: f"seed-{s}")
async def test_random_interleavings_converge(
    seed: int, server: RunningServer, make_client: Callable[[], ApiClient]
) -> None:
    owner, carol = make_client(), make_client()
    await owner.register()
    await carol.register()
    await run_one(seed, Setup(owner, carol, [server.ws_url]))


@pytest.mark.skipif(backends.BACKEND != "postgres", reason="two processes need PostgreSQL + Redis")
@pytest.mark.postgres_only
@pytest.mark.slow
async def test_random_interleavings_across_two_instances_and_redis_restarts(
    database_url: str, redis_server: RedisProcess
) -> None:
    """The same on two `serve` processes: HTTP through one, the socket on either (chosen
    at each reconnect), and Redis killed and restarted between steps."""
    env = server_env(database_url, redis_server, secret_key=SECRET)

    async def restart_redis() -> None:
        await redis_server.kill()
        await redis_server.start()

    async def verify(client: ApiClient) -> None:
        await verify_in(database_url, client.email)

    async with AsyncExitStack() as stack:
        a, b = await stack.enter_async_context(servers(env, 2))
        clients: list[ApiClient] = []
        for base_url in (a.base_url, b.base_url):
            session = await stack.enter_async_context(ApiClient(base_url=base_url, timeout=30))
            await session.register()
            token = bearer(base_url, await make_token(session))
            token.email, token.user = session.email, session.user
            clients.append(await stack.enter_async_context(token))
        owner, carol = clients
        headers = {"Authorization": str(carol.headers["Authorization"])}
        for seed in SEEDS[: max(1, EXAMPLES // 3)]:
            setup = Setup(owner, carol, [a.ws_url, b.ws_url], headers, verify, restart_redis)
            await run_one(seed, setup)
