"""Guard tests: SQL statements and Redis commands per hot request, exact, on each backend.

Speed is measured by bench/; these numbers are what makes a request cheap or dear and they
do not depend on the machine, so a change that adds a query or a Redis round trip to a hot
path fails here. When a change earns a smaller number, lower it here in the same commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from taskmanager.config import Settings
from tests import backends
from tests.helpers import API, ApiClient, add_member, create_project, create_task
from tests.perf.counting import count_io, settled
from tests.realtime.wsclient import live
from tests.server import RunningServer, run_server

# (SQL statements, Redis commands, Redis round trips) per request. SQLite counts its BEGIN
# (a statement there); PostgreSQL's BEGIN/COMMIT are protocol messages of the driver.
EXPECTED: dict[str, dict[str, tuple[int, int, int]]] = {
    "embedded": {
        "get_task": (3, 2, 1),  # + relations (docs/performance.md, feature costs)
        "list_50": (4, 2, 1),  # + relations of the page
        "create_task": (6, 3, 2),
        "create_task_webhook": (7, 3, 2),  # + the delivery job's INSERT
        "move_task": (12, 3, 2),  # + counts, + relations of the moved task
        "ws_subscribe": (6, 7, 3),
        # Notifications: + 1 INSERT and one more PUBLISH in the same pipeline when the
        # assignee is someone else (the membership check of the assignee was there before);
        # a comment + 1 SELECT (who follows the task), + 1 INSERT and PUBLISH when that
        # finds anyone.
        "create_assigned": (11, 4, 2),
        "comment_alone": (9, 3, 2),
        "comment_notifying": (11, 4, 2),
        "sync_bootstrap": (9, 2, 1),  # + the tasks' labels and relations
        "sync_delta": (3, 2, 1),
    },
    "postgres": {
        "get_task": (1, 2, 1),
        "list_50": (1, 2, 1),
        "create_task": (4, 3, 2),
        "create_task_webhook": (5, 3, 2),  # + the delivery job's INSERT
        "move_task": (9, 3, 2),  # + counts and relations of the moved task
        "ws_subscribe": (3, 7, 3),
        "create_assigned": (9, 4, 2),
        "comment_alone": (7, 3, 2),
        "comment_notifying": (9, 4, 2),
        # visible projects, then one per phase (+ the projects' task counts)
        "sync_bootstrap": (6, 2, 1),
        "sync_delta": (2, 2, 1),  # visible projects, then every behind project's events
    },
}


@dataclass
class Board:
    server: RunningServer
    client: ApiClient
    project_id: str
    task_ids: list[str]
    teammate: ApiClient  # a member of the project: someone to notify


@pytest.fixture(scope="module")
async def board(migrated: None, make_settings: Callable[..., Settings]) -> AsyncIterator[Board]:
    """A server of its own with no background rounds, and a project of 50 tasks."""
    settings = make_settings(
        realtime_check_interval_seconds=3600,
        event_retention_interval_seconds=0,
        jobs_in_serve=False,  # the job worker's polls would be counted as the request's
    )
    async with (
        run_server(settings) as running,
        ApiClient(base_url=running.base_url) as client,
        ApiClient(base_url=running.base_url) as teammate,
    ):
        await client.register()
        await teammate.register()
        project = await create_project(client, "Counted")
        task_ids = [(await create_task(client, project["id"], f"T{i}"))["id"] for i in range(50)]
        await add_member(client, project["id"], teammate, "member")
        yield Board(running, client, project["id"], task_ids, teammate)


async def _measure(board: Board, name: str, send: Callable[[], Any]) -> None:
    # Once untimed: first-use work (dialect set-up, a new pooled connection) is not per request.
    await send()
    with count_io(board.server.resources) as counts:
        await send()
        got = await settled(counts)
    expected = EXPECTED[backends.BACKEND][name]
    assert got == expected, f"{name}: (sql, redis, round trips) = {got}\n{counts}"


async def test_get_task(board: Board) -> None:
    async def send() -> None:
        response = await board.client.get(f"{API}/tasks/{board.task_ids[0]}")
        assert response.status_code == 200, response.text

    await _measure(board, "get_task", send)


async def test_list_50(board: Board) -> None:
    async def send() -> None:
        response = await board.client.get(
            f"{API}/projects/{board.project_id}/tasks", params={"limit": 50}
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 50

    await _measure(board, "list_50", send)


async def test_create_task(board: Board) -> None:
    async def send() -> None:
        await create_task(board.client, board.project_id, "Counted create")

    await _measure(board, "create_task", send)


async def test_create_assigned_task(board: Board) -> None:
    """The (verified) assignee is told: the notification's INSERT, then, for the e-mail,
    their settings, their mail-state row (made once) and its lock; the mail job the first
    call scheduled is still pending, so the measured call joins it."""

    async def send() -> None:
        assignee = board.teammate.user["id"]
        await create_task(board.client, board.project_id, "For you", assignee_id=assignee)

    await _measure(board, "create_assigned", send)


async def test_comment_that_notifies_nobody(board: Board) -> None:
    async def send() -> None:
        response = await board.client.post(
            f"{API}/tasks/{board.task_ids[1]}/comments", json={"body": "Note to self"}
        )
        assert response.status_code == 201, response.text

    await _measure(board, "comment_alone", send)


async def test_comment_that_notifies(board: Board) -> None:
    """The creator (not verified: no mail) is told: the follower lookup, the INSERT, and
    the e-mail's settings read that finds nobody to mail."""

    async def send() -> None:
        # On the client's own task: its creator is told.
        response = await board.teammate.post(
            f"{API}/tasks/{board.task_ids[2]}/comments", json={"body": "Looks good"}
        )
        assert response.status_code == 201, response.text

    await _measure(board, "comment_notifying", send)


async def test_create_task_with_a_webhook(board: Board) -> None:
    """A project with an enabled webhook pays one INSERT (its delivery job) per write; one
    without pays nothing (test_create_task): the bump that takes the seq reads the count."""
    project = await create_project(board.client, "Hooked")
    # A public address (the guard is on); nothing is sent: no worker runs here.
    hook = await board.client.post(
        f"{API}/projects/{project['id']}/webhooks",
        json={"url": "https://8.8.8.8/counted", "events": ["*"]},
    )
    assert hook.status_code == 201, hook.text

    async def send() -> None:
        await create_task(board.client, project["id"], "Counted create")

    await _measure(board, "create_task_webhook", send)


async def test_move_task(board: Board) -> None:
    async def send() -> None:
        response = await board.client.post(
            f"{API}/tasks/{board.task_ids[0]}/move",
            json={"after_id": board.task_ids[10]},
        )
        assert response.status_code == 200, response.text

    await _measure(board, "move_task", send)


async def test_websocket_subscribe(board: Board) -> None:
    async def send() -> None:
        async with live(board.server.ws_url, board.client) as ws:
            reply = await ws.subscribe(board.project_id)
            assert reply["type"] == "subscribed", reply
            await _let_catch_up_run()

    await _measure(board, "ws_subscribe", send)


async def test_sync_bootstrap(board: Board) -> None:
    """A bootstrap page: one statement per snapshot phase, whatever the project count."""

    async def send() -> None:
        response = await board.client.get(f"{API}/sync", params={"limit": 1000})
        assert response.status_code == 200, response.text
        assert not response.json()["has_more"]

    await _measure(board, "sync_bootstrap", send)


async def test_sync_delta(board: Board) -> None:
    """Events of 20 projects behind the cursor: one query for all of them, not one each."""
    client = board.client
    others = [(await create_project(client, f"Synced {i}"))["id"] for i in range(20)]
    cursor = None
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{API}/sync", params=params)).json()
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    for project_id in others:
        await create_task(client, project_id, "Behind")

    async def send() -> None:
        response = await client.get(f"{API}/sync", params={"cursor": cursor})
        assert response.status_code == 200, response.text
        assert len(response.json()["events"]) == 20

    await _measure(board, "sync_delta", send)


async def _let_catch_up_run() -> None:
    # The catch-up read a subscribe starts runs after the reply; give it its moment
    # before the socket closes so it is counted, not cancelled half-way.
    await asyncio.sleep(0.2)
