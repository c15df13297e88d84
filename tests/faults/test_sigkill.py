"""The server process SIGKILLed mid-write: after a restart the database is consistent.

Writers create tasks (some with labels), patch and move them concurrently while the whole
`taskmanager serve` process group is killed, twice. Checked with SQL afterwards: no task
without its task.created event, no event without its task, no change without its event
(versions and positions match the latest event), per-project seqs gap-free 1..event_seq,
every 201 stored, and the restarted server carries on the same logs.
"""

from __future__ import annotations

import asyncio
import random
import signal
from contextlib import AsyncExitStack, suppress
from typing import Any

import asyncpg
import httpx

from tests.faults.conftest import FAULTS, check_log_consistency
from tests.helpers import API, ApiClient, create_project, create_task, events
from tests.processes import (
    RedisProcess,
    ServerProcess,
    bearer,
    make_token,
    running_server,
    server_env,
    start_server,
)

pytestmark = FAULTS

WRITERS = 6
ROUNDS = 2
LOAD_SECONDS = 1.2


async def _workload(
    client: httpx.AsyncClient,
    projects: list[tuple[str, str]],
    created: list[str],
    rng: random.Random,
) -> None:
    """Creates, patches and moves until the server disappears under it."""
    mine: list[tuple[str, str]] = []
    try:
        while True:
            pid, label_id = rng.choice(projects)
            body: dict[str, Any] = {"title": f"t{rng.randrange(10**6)}"}
            if rng.random() < 0.5:
                body["label_ids"] = [label_id]
            response = await client.post(f"{API}/projects/{pid}/tasks", json=body)
            assert response.status_code == 201, response.text
            created.append(response.json()["id"])
            mine.append((pid, response.json()["id"]))
            if len(mine) >= 2:
                (_, task_id), (_, other) = rng.sample(mine[-6:], 2)
                patch = await client.patch(
                    f"{API}/tasks/{task_id}",
                    json={"title": f"p{rng.randrange(10**6)}", "priority": "high"},
                )
                assert patch.status_code == 200, patch.text
                status = rng.choice(["todo", "in_progress", "done"])
                move = await client.post(f"{API}/tasks/{task_id}/move", json={"status": status})
                assert move.status_code == 200, move.text
                # A move between neighbours where possible (other may be in another
                # project or column: then a 422, which is fine, nothing changes).
                move2 = await client.post(f"{API}/tasks/{other}/move", json={"after_id": task_id})
                assert move2.status_code in (200, 422), move2.text
    except httpx.TransportError:
        return  # the server is gone


async def test_sigkill_mid_write_leaves_no_half_written_change(
    database_url: str, redis_server: RedisProcess
) -> None:
    env = server_env(database_url, redis_server)
    rng = random.Random(7)
    created: list[str] = []
    async with AsyncExitStack() as stack:
        server: ServerProcess = await stack.enter_async_context(running_server(env))
        owner = await stack.enter_async_context(ApiClient(base_url=server.base_url, timeout=30))
        await owner.register()
        secret = await make_token(owner)
        projects: list[tuple[str, str]] = []
        for name in ("Killed A", "Killed B"):
            pid = str((await create_project(owner, name))["id"])
            label = await owner.post(
                f"{API}/projects/{pid}/labels", json={"name": "bug", "color": "#ff0000"}
            )
            assert label.status_code == 201, label.text
            projects.append((pid, label.json()["id"]))

        for _ in range(ROUNDS):
            async with AsyncExitStack() as round_stack:
                clients = [
                    await round_stack.enter_async_context(bearer(server.base_url, secret))
                    for _ in range(WRITERS)
                ]
                load = [
                    asyncio.create_task(
                        _workload(c, projects, created, random.Random(rng.random()))
                    )
                    for c in clients
                ]
                await asyncio.sleep(LOAD_SECONDS)
                assert not any(t.done() for t in load), [t.exception() for t in load if t.done()]
                await server.stop(signal.SIGKILL, timeout=5)
                await asyncio.gather(*load)
            server = await start_server(env)
            stack.push_async_callback(_stop, server)

        # After the restart: consistent in SQL, and the service carries on the same log.
        counts = await check_log_consistency(database_url)
        conn = await asyncpg.connect(database_url)
        try:
            stored = {str(r["id"]) for r in await conn.fetch("SELECT id FROM tasks")}
            unlabelled = await conn.fetch(
                """
                SELECT e.data->>'id' AS id FROM events e
                WHERE e.name = 'task.created' AND jsonb_array_length(e.data::jsonb->'labels') > 0
                  AND NOT EXISTS (
                    SELECT 1 FROM task_labels tl WHERE tl.task_id::text = e.data->>'id')
                """
            )
        finally:
            await conn.close()
        assert set(created) <= stored, "a task answered 201 is missing after the restart"
        assert not unlabelled, f"tasks created with a label lost it: {unlabelled}"
        async with bearer(server.base_url, secret) as client:
            for pid, _ in projects:
                before = await events(client, pid)
                task = await create_task(client, pid, "after the restart")
                after = await events(client, pid)
                assert [e["seq"] for e in after] == list(range(1, len(before) + 2))
                assert after[-1]["name"] == "task.created" and after[-1]["data"] == task
        print(f"\n{len(created)} creates answered 201 over {ROUNDS} kills; {counts}")


async def _stop(server: ServerProcess) -> None:
    with suppress(TimeoutError):
        await server.stop(timeout=10)
