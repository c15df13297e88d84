"""Object-level authorization (BOLA): team B's ids in team A's requests, as A's owner.

A's owner may do anything in project A and nothing in B. Every row puts one of B's ids
somewhere (path, body, filter, cursor): the answer is 404 (B's object is invisible) or 422
(the body names something that is not part of A's project), never a 500, never B's data,
and afterwards B reads exactly as before (re-read as B's owner) and A's log has not moved.
WebSocket and SSE: nobody outside A subscribes to or streams A's project.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.authz.world import PRINCIPALS, TEAM_ROLES, World, build_world, close_world
from tests.helpers import API, create_task, events
from tests.realtime.wsclient import LiveClient
from tests.server import RunningServer

PA, PB = API + "/projects/{a.project_id}", API + "/projects/{b.project_id}"
TB, TA = API + "/tasks/{b.task_id}", API + "/tasks/{a.task_id}"

# (method, path, body, status): `{a.x}` / `{b.x}` are team A's / team B's objects.
CROSS_TEAM: list[tuple[str, str, Any, int]] = [
    # B's ids in the path
    ("GET", PB, None, 404),
    ("PATCH", PB, {"name": "mine now"}, 404),
    ("DELETE", PB, None, 404),
    ("POST", PB + "/transfer", {"user_id": "{a.user_ids[owner]}"}, 404),
    ("GET", PB + "/members", None, 404),
    ("POST", PB + "/invitations", {"email": "{owner_email}", "role": "admin"}, 404),
    ("GET", PB + "/invitations", None, 404),
    ("PATCH", PB + "/members/{b.user_ids[member]}", {"role": "viewer"}, 404),
    ("DELETE", PB + "/members/{b.user_ids[member]}", None, 404),
    ("GET", PB + "/tasks", None, 404),
    ("POST", PB + "/tasks", {"title": "planted"}, 404),
    ("GET", PB + "/labels", None, 404),
    ("POST", PB + "/labels", {"name": "planted", "color": "#000000"}, 404),
    ("GET", PB + "/events", None, 404),
    ("GET", PB + "/stream", None, 404),
    ("GET", TB, None, 404),
    ("PATCH", TB, {"title": "mine now"}, 404),
    ("DELETE", TB, None, 404),
    ("POST", TB + "/move", {"status": "done"}, 404),
    ("POST", TB + "/move", {"after_id": "{a.task_id}"}, 404),
    ("GET", TB + "/comments", None, 404),
    ("POST", TB + "/comments", {"body": "planted"}, 404),
    ("PATCH", API + "/labels/{b.label_id}", {"name": "mine now"}, 404),
    ("DELETE", API + "/labels/{b.label_id}", None, 404),
    ("PATCH", API + "/comments/{b.comment_id}", {"body": "mine now"}, 404),
    ("DELETE", API + "/comments/{b.comment_id}", None, 404),
    # A's project in the path, one of B's ids after it
    ("PATCH", PA + "/members/{b.user_ids[member]}", {"role": "viewer"}, 404),
    ("DELETE", PA + "/members/{b.user_ids[member]}", None, 404),
    ("PATCH", PA + "/members/{b.user_ids[owner]}", {"role": "admin"}, 404),
    # B's ids in the body of a write to A's objects
    ("POST", PA + "/tasks", {"title": "x", "assignee_id": "{b.user_ids[member]}"}, 422),
    ("POST", PA + "/tasks", {"title": "x", "label_ids": ["{b.label_id}"]}, 422),
    ("PATCH", TA, {"assignee_id": "{b.user_ids[member]}"}, 422),
    ("PATCH", TA, {"label_ids": ["{a.label_id}", "{b.label_id}"]}, 422),
    ("POST", TA + "/move", {"before_id": "{b.task_id}"}, 422),
    ("POST", TA + "/move", {"after_id": "{b.other_task_id}"}, 422),
    ("POST", TA + "/move", {"status": "todo", "after_id": "{b.task_id}"}, 422),
    ("POST", PA + "/transfer", {"user_id": "{b.user_ids[owner]}"}, 422),
]

# B's ids as filters of A's lists: no error, simply nothing (A has no such tasks).
CROSS_TEAM_FILTERS = [
    PA + "/tasks?assignee_id={b.user_ids[member]}",
    PA + "/tasks?label_id={b.label_id}",
    PA + "/tasks?assignee_id={b.user_ids[member]}&label_id={b.label_id}",
    PA + "/tasks?q={b.secret}",
]


@pytest.fixture(scope="module")
async def world(server: RunningServer) -> AsyncIterator[World]:
    built = await build_world(server)
    yield built
    await close_world(built)


def _fill(template: Any, world: World) -> Any:
    if isinstance(template, str):
        return template.format(a=world.a, b=world.b, owner_email=world.clients["owner"].email)
    if isinstance(template, list):
        return [_fill(v, world) for v in template]
    if isinstance(template, dict):
        return {k: _fill(v, world) for k, v in template.items()}
    return template


async def _snapshot(world: World) -> dict[str, Any]:
    """Everything of team B, read by B's owner (events last: it records any change)."""
    boss = world.clients["outsider"]
    pb, b = f"{API}/projects/{world.b.project_id}", world.b
    out: dict[str, Any] = {}
    for path in (pb, f"{pb}/members", f"{pb}/tasks", f"{pb}/labels"):
        out[path] = (await boss.get(path)).json()
    for path in (f"{API}/tasks/{b.task_id}", f"{API}/tasks/{b.task_id}/comments"):
        out[path] = (await boss.get(path)).json()
    out["events"] = await events(boss, b.project_id)
    return out


async def test_other_teams_ids_reach_nothing(world: World) -> None:
    b_before = await _snapshot(world)
    a_seq = await world.event_seq(world.a.project_id)
    problems: list[str] = []
    for method, template, body, status in CROSS_TEAM:
        path, payload = _fill(template, world), _fill(body, world)
        response = await world.send("owner", method, path, json=payload)
        where = f"{method} {template} {body or ''} -> {response.status_code}"
        if response.status_code != status:
            problems.append(f"{where}, expected {status}: {response.text[:200]}")
        # (Problem bodies echo the request path as `instance`: the caller's own input.)
        elif world.b.secret in response.text or world.b.task_id in response.text.replace(path, ""):
            problems.append(f"{where}: the answer carries team B's data")
    for template in CROSS_TEAM_FILTERS:
        response = await world.send("owner", "GET", _fill(template, world))
        if response.status_code != 200 or response.json()["items"] != []:
            problems.append(f"GET {template} -> {response.status_code}: {response.text[:200]}")
    assert not problems, "\n" + "\n".join(problems)
    assert await _snapshot(world) == b_before, "team B changed"
    assert await world.event_seq(world.a.project_id) == a_seq, "team A's log moved"


async def test_a_cursor_of_team_b_does_not_page_team_a(world: World) -> None:
    page = await world.clients["outsider"].get(
        f"{API}/projects/{world.b.project_id}/tasks", params={"limit": 1}
    )
    cursor = page.json()["next_cursor"]
    assert cursor
    response = await world.send(
        "owner", "GET", f"{API}/projects/{world.a.project_id}/tasks?limit=1&cursor={cursor}"
    )
    assert response.status_code == 422, response.text
    assert world.b.secret not in response.text


async def _subscribe(world: World, principal: str, project_id: str) -> dict[str, Any]:
    """Connect as `principal`, subscribe to `project_id`; the first answer (or the refusal)."""
    headers = world.creds[principal].headers()
    headers.pop("X-CSRF-Token", None)
    async with connect(
        f"{world.server.ws_url}/api/v1/ws", additional_headers=headers, open_timeout=5
    ) as ws:
        live = LiveClient(ws)
        # Unauthenticated sockets are told so and closed at once: the send may find it shut.
        with contextlib.suppress(ConnectionClosed):
            await live.send({"type": "subscribe", "project_id": project_id})
        return await live.recv()


async def test_websocket_subscribe_matrix(world: World) -> None:
    expected = dict.fromkeys(TEAM_ROLES, "subscribed") | {
        "outsider": "forbidden",
        "anonymous": "unauthorized",
        "revoked": "unauthorized",
        "expired": "unauthorized",
    }
    got: dict[str, str] = {}
    for principal in PRINCIPALS:
        answer = await _subscribe(world, principal, world.a.project_id)
        got[principal] = answer["type"] if answer["type"] == "subscribed" else answer["code"]
        if principal not in TEAM_ROLES:
            assert world.a.secret not in str(answer)
    assert got == expected
    # B's project and a project that does not exist get the very same refusal.
    foreign = await _subscribe(world, "owner", world.b.project_id)
    missing = await _subscribe(world, "owner", str(uuid.uuid4()))
    assert foreign["code"] == missing["code"] == "forbidden"
    assert foreign["message"] == missing["message"]


async def test_refused_subscriber_receives_nothing_of_team_a(world: World) -> None:
    url = f"{world.server.ws_url}/api/v1/ws"
    outsider_headers = world.creds["outsider"].headers()
    viewer_headers = world.creds["viewer"].headers()
    async with (
        connect(url, additional_headers=outsider_headers, open_timeout=5) as outsider_ws,
        connect(url, additional_headers=viewer_headers, open_timeout=5) as viewer_ws,
    ):
        outsider, viewer = LiveClient(outsider_ws), LiveClient(viewer_ws)
        assert (await outsider.subscribe(world.a.project_id))["code"] == "forbidden"
        assert (await viewer.subscribe(world.a.project_id))["type"] == "subscribed"
        await create_task(world.clients["member"], world.a.project_id, world.a.secret)
        # Once the viewer has the event, the hub has fanned it out to every local socket.
        [event] = await viewer.events(1)
        assert world.a.secret in str(event)
        await outsider.send({"type": "ping"})
        while (message := await outsider.recv())["type"] != "pong":
            assert world.a.secret not in str(message), message
