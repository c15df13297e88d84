"""Real parallel requests on PostgreSQL: gap-free seqs, one If-Match winner, total order, pages."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.backends import BACKEND
from tests.helpers import API, ApiClient, Team, create_task, events

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="needs PostgreSQL: SQLite serialises all writers (BEGIN IMMEDIATE), so no race",
)


async def _writers(team: Team, server_url: str, n: int = 4) -> list[ApiClient]:
    """Several independent clients (own connections and sessions) of the member."""
    clients = []
    for _ in range(n):
        c = ApiClient(base_url=server_url, timeout=60)
        await c.login(team["member"].email)
        clients.append(c)
    return clients


@pytest.fixture
async def writers(team: Team) -> Any:
    clients = await _writers(team, str(team["member"].base_url))
    yield clients
    for c in clients:
        await c.aclose()


async def test_concurrent_creates_get_gap_free_seqs_in_commit_order(
    team: Team, writers: list[ApiClient]
) -> None:
    pid = team.project_id
    start = (await events(team["owner"], pid))[-1]["seq"]

    async def create(i: int) -> Any:
        c = writers[i % len(writers)]
        return await c.post(f"{API}/projects/{pid}/tasks", json={"title": f"t{i}"})

    responses = await asyncio.gather(*(create(i) for i in range(40)))
    assert [r.status_code for r in responses] == [201] * 40
    log = await events(team["owner"], pid, after_seq=start)
    assert [e["seq"] for e in log] == list(range(start + 1, start + 41))
    assert {e["data"]["id"] for e in log} == {r.json()["id"] for r in responses}
    # Each create took the end of the column under the project lock, so positions grow in
    # commit order: event order == commit order.
    positions = [e["data"]["position"] for e in log]
    assert positions == sorted(positions)
    assert len(set(positions)) == 40


async def test_sixteen_conditional_updates_one_winner(team: Team, writers: list[ApiClient]) -> None:
    task = await create_task(team["member"], team.project_id)
    url = f"{API}/tasks/{task['id']}"

    async def patch(i: int) -> Any:
        c = writers[i % len(writers)]
        return await c.patch(url, json={"title": f"winner {i}"}, headers={"If-Match": '"1"'})

    responses = await asyncio.gather(*(patch(i) for i in range(16)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [412] * 15
    winner = next(r.json() for r in responses if r.status_code == 200)
    now = (await team["viewer"].get(url)).json()
    assert now["version"] == 2
    assert now["title"] == winner["title"]
    updates = [
        e for e in await events(team["owner"], team.project_id) if e["name"] == "task.updated"
    ]
    assert len(updates) == 1


async def test_parallel_moves_between_same_neighbours(team: Team, writers: list[ApiClient]) -> None:
    pid = team.project_id
    a = await create_task(team["member"], pid, "a")
    b = await create_task(team["member"], pid, "b")
    movers = [await create_task(team["member"], pid, f"m{i}", status="done") for i in range(12)]

    async def move(i: int, task: dict[str, Any]) -> Any:
        c = writers[i % len(writers)]
        body = {"status": "todo", "after_id": a["id"], "before_id": b["id"]}
        return await c.post(f"{API}/tasks/{task['id']}/move", json=body)

    responses = await asyncio.gather(*(move(i, t) for i, t in enumerate(movers)))
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses]
    page = (
        await team["viewer"].get(
            f"{API}/projects/{pid}/tasks", params={"status": "todo", "limit": 100}
        )
    ).json()["items"]
    titles = [t["title"] for t in page]
    positions = [t["position"] for t in page]
    assert titles[0] == "a" and titles[-1] == "b"
    assert sorted(titles[1:-1]) == sorted(f"m{i}" for i in range(12))
    assert len(set(positions)) == len(positions) == 14
    assert positions == sorted(positions)


async def test_keyset_walk_while_inserting(team: Team, writers: list[ApiClient]) -> None:
    pid = team.project_id
    original = [await create_task(team["member"], pid, f"o{i}") for i in range(40)]
    url = f"{API}/projects/{pid}/tasks"
    stop = asyncio.Event()

    async def insert() -> int:
        n = 0
        while not stop.is_set():
            r = await writers[n % len(writers)].post(url, json={"title": f"new{n}"})
            assert r.status_code == 201
            n += 1
        return n

    async def walk(sort: str) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 6, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = (await team["viewer"].get(url, params=params)).json()
            seen += [t["id"] for t in page["items"]]
            cursor = page["next_cursor"]
            await asyncio.sleep(0.01)
            if cursor is None:
                return seen

    inserter = asyncio.create_task(insert())
    walks = await asyncio.gather(walk("created_at"), walk("position"), walk("-created_at"))
    stop.set()
    inserted = await inserter
    assert inserted > 0
    for seen in walks:
        assert len(seen) == len(set(seen)), "a row was returned twice"
        assert {t["id"] for t in original} <= set(seen), "a row was skipped"
