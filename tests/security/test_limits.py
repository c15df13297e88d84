"""Resource limits: every one rejects clearly (problem+json at the field, or a close code).

Covered here: body size (with and without Content-Length), body arrival time (408),
page size, text lengths (and that the database columns take the maximum), labels per
task, subscriptions per WebSocket, WebSocket message size. Slow *headers* (slowloris)
are uvicorn's side of the socket: it has no header timeout, so production runs behind a
proxy that has one (nginx `client_header_timeout`); idle keep-alive connections are
closed by uvicorn after `timeout_keep_alive` (5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import StartServer
from tests.helpers import (
    API,
    PASSWORD,
    ApiClient,
    Team,
    assert_problem,
    create_task,
    team,
    team_users,
)
from tests.realtime.wsclient import live

__all__ = ["team", "team_users"]

HANG_GUARD = 10.0  # not a timing assertion: only stops a broken server from hanging the run


async def _raw_exchange(
    base_url: str, head: bytes, body_chunks: AsyncIterator[bytes]
) -> tuple[str, dict[str, str], bytes]:
    """Send `head`, then chunks until the server answers; its status line, headers, body."""
    parts = urlsplit(base_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head)
        await writer.drain()

        async def dribble() -> None:
            async for chunk in body_chunks:
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(dribble())
        try:
            async with asyncio.timeout(HANG_GUARD):
                raw = await reader.read()  # the server closes after its answer
        finally:
            sender.cancel()
            # The server may have closed on us mid-dribble: that is the point.
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    head_part, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head_part.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    return status_line, headers, body


def _request_head(path: str, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _assert_408(status_line: str, headers: dict[str, str], body: bytes) -> None:
    assert status_line.startswith("HTTP/1.1 408"), status_line
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["connection"] == "close"
    problem = orjson.loads(body)
    assert problem["status"] == 408 and problem["code"] == "request_timeout"


async def test_stalled_body_gets_408(start_server: StartServer) -> None:
    running = await start_server(request_body_timeout_seconds=0.3)

    async def then_nothing() -> AsyncIterator[bytes]:
        yield b'{"email": '  # 10 of the 100 bytes announced, then silence
        await asyncio.Event().wait()

    head = _request_head(f"{API}/auth/login", Content_Length="100")
    _assert_408(*await _raw_exchange(running.base_url, head, then_nothing()))


@pytest.mark.serial  # timing: run outside the xdist part (scripts/test)
async def test_dribbled_body_gets_408_although_bytes_keep_coming(
    start_server: StartServer,
) -> None:
    # The bound is on the whole body: a byte every 50 ms would keep a per-read timer happy.
    running = await start_server(request_body_timeout_seconds=0.3)

    async def dribble() -> AsyncIterator[bytes]:
        for _ in range(1000):
            yield b"1\r\n \r\n"  # one chunk of one space, forever
            await asyncio.sleep(0.05)

    head = _request_head(f"{API}/auth/login", Transfer_Encoding="chunked")
    _assert_408(*await _raw_exchange(running.base_url, head, dribble()))


async def test_body_limit_with_and_without_content_length(start_server: StartServer) -> None:
    running = await start_server(max_body_bytes=1024)
    url = f"{API}/auth/login"

    async def chunks(total: int) -> AsyncIterator[bytes]:
        body = orjson.dumps({"email": "a@example.com", "password": "p" * (total - 40)})
        for i in range(0, len(body), 100):  # chunked: no Content-Length at all
            yield body[i : i + 100]

    async with ApiClient(base_url=running.base_url, timeout=HANG_GUARD) as c:
        over = await c.post(url, content=b" " * 1025, headers={"Content-Type": "application/json"})
        assert_problem(over, 413)
        chunked_over = await c.post(
            url, content=chunks(1100), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in chunked_over.request.headers
        assert_problem(chunked_over, 413)
        # Just under the limit, in many chunks: read and answered on its merits.
        chunked_under = await c.post(
            url, content=chunks(1000), headers={"Content-Type": "application/json"}
        )
        assert_problem(chunked_under, 401)


@pytest.mark.parametrize("path", ["projects", "projects/{pid}/tasks", "projects/{pid}/events"])
async def test_page_size_above_max_is_422_naming_limit(team: Team, path: str) -> None:
    url = f"{API}/{path.format(pid=team.project_id)}"
    assert_problem(await team["viewer"].get(url, params={"limit": 101}), 422, field="limit")
    assert (await team["viewer"].get(url, params={"limit": 100})).status_code == 200


# Each text field at its maximum (in 4-byte characters: the columns count characters, and
# must hold it on PostgreSQL too) and one past it.
WIDE = "😀"


async def _post(client: ApiClient, url: str, body: dict[str, Any]) -> Any:
    return await client.post(url, json=body)


@pytest.mark.parametrize(
    ("what", "field", "maximum"),
    [
        ("project", "name", 100),
        ("project", "description", 2000),
        ("task", "title", 200),
        ("task", "description", 20000),
        ("label", "name", 50),
        ("comment", "body", 10000),
    ],
)
async def test_text_lengths(team: Team, what: str, field: str, maximum: int) -> None:
    member = team["member"]
    pid = team.project_id
    base: dict[str, dict[str, Any]] = {
        "project": {"name": "P"},
        "task": {"title": "T"},
        "label": {"name": "L", "color": "#00ff00"},
        "comment": {"body": "C"},
    }
    if what == "comment":
        url = f"{API}/tasks/{(await create_task(member, pid))['id']}/comments"
    else:
        url = {
            "project": f"{API}/projects",
            "task": f"{API}/projects/{pid}/tasks",
            "label": f"{API}/projects/{pid}/labels",
        }[what]
    at_max = await _post(member, url, {**base[what], field: WIDE * maximum})
    assert at_max.status_code == 201, at_max.text
    assert at_max.json()[field] == WIDE * maximum
    too_long = await _post(member, url, {**base[what], field: WIDE * (maximum + 1)})
    assert_problem(too_long, 422, field=field)


async def test_display_name_and_token_name_lengths(client: ApiClient) -> None:
    me = await client.register()
    response = await client.post(f"{API}/auth/tokens", json={"name": WIDE * 101})
    assert_problem(response, 422, field="name")
    token = await client.post(f"{API}/auth/tokens", json={"name": WIDE * 100})
    assert token.status_code == 201 and token.json()["name"] == WIDE * 100
    again = {"email": f"x{me['email']}", "password": PASSWORD}
    at_max = await client.post(f"{API}/auth/register", json={**again, "display_name": WIDE * 100})
    assert at_max.status_code == 201 and at_max.json()["display_name"] == WIDE * 100
    again["email"] = f"y{me['email']}"
    too_long = await client.post(f"{API}/auth/register", json={**again, "display_name": WIDE * 101})
    assert_problem(too_long, 422, field="display_name")


async def test_labels_per_task_bounded(team: Team) -> None:
    pid = team.project_id
    labels = [
        (
            await team["member"].post(
                f"{API}/projects/{pid}/labels", json={"name": f"l{i}", "color": "#123456"}
            )
        ).json()["id"]
        for i in range(51)
    ]
    ok = await team["member"].post(
        f"{API}/projects/{pid}/tasks", json={"title": "many", "label_ids": labels[:50]}
    )
    assert ok.status_code == 201 and len(ok.json()["labels"]) == 50
    response = await team["member"].post(
        f"{API}/projects/{pid}/tasks", json={"title": "T", "label_ids": labels}
    )
    assert_problem(response, 422, field="label_ids")


async def test_subscriptions_per_websocket_bounded(start_server: StartServer) -> None:
    running = await start_server(realtime_max_subscriptions=2)
    async with ApiClient(base_url=running.base_url, timeout=HANG_GUARD) as owner:
        await owner.register()
        projects = [
            (await owner.post(f"{API}/projects", json={"name": f"p{i}"})).json()["id"]
            for i in range(3)
        ]
        async with live(running.ws_url, owner) as ws:
            for pid in projects[:2]:
                assert (await ws.subscribe(pid))["type"] == "subscribed"
            refused = await ws.subscribe(projects[2])
            assert refused["type"] == "error" and refused["code"] == "too_many_subscriptions"
            assert refused["project_id"] == projects[2]
            # Re-subscribing one it follows is not a new one; the connection stays usable.
            assert (await ws.subscribe(projects[0]))["type"] == "subscribed"
            await ws.send({"type": "unsubscribe", "project_id": projects[1]})
            assert (await ws.recv())["type"] == "unsubscribed"
            assert (await ws.subscribe(projects[2]))["type"] == "subscribed"


async def test_websocket_message_size_closes_1009(start_server: StartServer) -> None:
    running = await start_server(ws_max_message_bytes=1024)
    async with ApiClient(base_url=running.base_url, timeout=HANG_GUARD) as user:
        await user.register()
        async with live(running.ws_url, user) as ws:
            ping = orjson.dumps({"type": "ping", "pad": ""})
            exactly = orjson.dumps({"type": "ping", "pad": "x" * (1024 - len(ping))})
            assert len(exactly) == 1024
            await ws.ws.send(exactly.decode())
            assert await ws.recv() == {"type": "pong"}
            await ws.ws.send(exactly.decode() + " ")
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
