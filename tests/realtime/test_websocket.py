"""The WebSocket protocol against a real server: live delivery, replay, resync, errors."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from sqlalchemy import delete
from websockets.exceptions import ConnectionClosed, InvalidStatus

from taskmanager.auth.sessions import SESSION_KEY
from taskmanager.events.models import Event
from tests.helpers import API, Team, add_member, create_task, expire_token, team, team_users
from tests.realtime.wsclient import cookie_headers, live
from tests.server import RunningServer

__all__ = ["team", "team_users"]


async def test_live_delivery_has_the_contract_shape(server: RunningServer, team: Team) -> None:
    async with live(server.ws_url, team["viewer"]) as ws:
        subscribed = await ws.subscribe(team.project_id)
        assert subscribed == {
            "type": "subscribed",
            "project_id": team.project_id,
            "seq": subscribed["seq"],
        }
        response = await team["member"].post(
            f"{API}/projects/{team.project_id}/tasks",
            json={"title": "Live"},
            headers={"X-Request-ID": "req-live-1"},
        )
        task = response.json()
        [event] = await ws.events(1)
    assert set(event) == {
        "type",
        "project_id",
        "seq",
        "name",
        "actor_id",
        "request_id",
        "at",
        "data",
    }
    assert event["name"] == "task.created"
    assert event["seq"] == subscribed["seq"] + 1
    assert event["project_id"] == team.project_id
    assert event["actor_id"] == team.user_id("member")
    assert event["request_id"] == "req-live-1"
    assert event["data"] == task


async def test_replay_after_seq_then_live(server: RunningServer, team: Team) -> None:
    owner = team["owner"]
    async with live(server.ws_url, owner) as ws:
        base = (await ws.subscribe(team.project_id))["seq"]
    for i in range(3):
        await create_task(owner, team.project_id, f"t{i}")
    async with live(server.ws_url, owner) as ws:
        subscribed = await ws.subscribe(team.project_id, after_seq=base + 1)
        assert subscribed["seq"] == base + 3
        replayed = await ws.events(2)
        assert [e["seq"] for e in replayed] == [base + 2, base + 3]
        await create_task(owner, team.project_id, "live")
        [live_event] = await ws.events(1)
        assert live_event["seq"] == base + 4
        assert await ws.nothing_within(0.3)


async def test_resync_required_when_log_was_pruned(server: RunningServer, team: Team) -> None:
    owner = team["owner"]
    for i in range(3):
        await create_task(owner, team.project_id, f"t{i}")
    async with server.resources.session_factory() as db:
        await db.execute(delete(Event).where(Event.seq <= 3))
        await db.commit()
    async with live(server.ws_url, owner) as ws:
        reply = await ws.subscribe(team.project_id, after_seq=1)
        assert reply["type"] == "resync_required"
        assert reply["project_id"] == team.project_id
        latest = reply["seq"]
        # The client refetches, then subscribes from `seq`.
        assert (await ws.subscribe(team.project_id, after_seq=latest))["type"] == "subscribed"


async def test_outsider_gets_forbidden_and_nothing(server: RunningServer, team: Team) -> None:
    async with live(server.ws_url, team["outsider"]) as ws:
        reply = await ws.subscribe(team.project_id)
        assert reply["type"] == "error"
        assert reply["code"] == "forbidden"
        missing = await ws.subscribe("00000000-0000-4000-8000-000000000000")
        assert missing["code"] == "forbidden"  # same answer: existence is not revealed
        await create_task(team["owner"], team.project_id, "secret")
        assert await ws.nothing_within(0.3)


async def test_malformed_messages_get_bad_request_and_connection_stays(
    server: RunningServer, team: Team
) -> None:
    async with live(server.ws_url, team["member"]) as ws:
        for raw in [
            "not json",
            "[1, 2]",
            '{"type": "dance"}',
            '{"type": "subscribe"}',
            '{"type": "subscribe", "project_id": "not-a-uuid"}',
            f'{{"type": "subscribe", "project_id": "{team.project_id}", "after_seq": -1}}',
            f'{{"type": "subscribe", "project_id": "{team.project_id}", "after_seq": "1"}}',
        ]:
            await ws.ws.send(raw)
            reply = await ws.recv()
            assert reply["type"] == "error", raw
            assert reply["code"] == "bad_request", raw
        await ws.send({"type": "ping"})
        assert await ws.recv() == {"type": "pong"}


async def test_message_over_size_limit_closes_1009(server: RunningServer, team: Team) -> None:
    async with live(server.ws_url, team["member"]) as ws:
        await ws.ws.send("x" * (server.settings.ws_max_message_bytes + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def _refused_with_4401(ws_url: str, headers: dict[str, str]) -> None:
    """The socket is accepted, told `unauthorized`, then closed with 4401."""
    async with live(ws_url, headers=headers) as ws:
        reply = await ws.recv()
        assert reply["code"] == "unauthorized"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_unauthenticated_socket_is_closed_4401(server: RunningServer) -> None:
    await _refused_with_4401(server.ws_url, {"Cookie": "session=forged"})


async def test_cross_site_origin_is_refused(server: RunningServer, team: Team) -> None:
    headers = cookie_headers(team["member"], origin="https://evil.example")
    with pytest.raises(InvalidStatus) as refused:
        async with live(server.ws_url, headers=headers):
            pass
    assert refused.value.response.status_code == 403
    same_origin = cookie_headers(team["member"], origin=server.base_url)
    async with live(server.ws_url, headers=same_origin) as ws:
        assert (await ws.subscribe(team.project_id))["type"] == "subscribed"


@pytest.mark.parametrize("authorization", ["Basic abc", "Bearer", "Bearer   ", "tm_no_scheme"])
async def test_malformed_authorization_is_closed_4401(
    server: RunningServer, team: Team, authorization: str
) -> None:
    """The HTTP API's bearer parser decides here too; a bad header is not "no header": the
    member's valid session cookie beside it does not let the socket in."""
    headers = {**cookie_headers(team["member"]), "Authorization": authorization}
    await _refused_with_4401(server.ws_url, headers)


async def test_bearer_token_socket(server: RunningServer, team: Team) -> None:
    token = (await team["member"].post(f"{API}/auth/tokens", json={"name": "ws"})).json()
    async with live(server.ws_url, headers={"Authorization": f"Bearer {token['token']}"}) as ws:
        assert (await ws.subscribe(team.project_id))["type"] == "subscribed"
        await create_task(team["owner"], team.project_id, "via token")
        assert (await ws.events(1))[0]["name"] == "task.created"
        revoke = await team["member"].delete(f"{API}/auth/tokens/{token['id']}")
        assert revoke.status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv(timeout=1.5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_watchdog_closes_sockets_of_expired_tokens_only(
    server: RunningServer, team: Team
) -> None:
    member = team["member"]
    lasting = (await member.post(f"{API}/auth/tokens", json={"name": "lasting"})).json()
    expiring = (
        await member.post(f"{API}/auth/tokens", json={"name": "expiring", "expires_in_days": 1})
    ).json()
    async with (
        live(server.ws_url, headers={"Authorization": f"Bearer {lasting['token']}"}) as kept,
        live(server.ws_url, headers={"Authorization": f"Bearer {expiring['token']}"}) as ended,
    ):
        for ws in (kept, ended):
            assert (await ws.subscribe(team.project_id))["type"] == "subscribed"
        await expire_token(server, expiring["id"])
        await server.resources.hub.watchdog.check_once()
        with pytest.raises(ConnectionClosed) as closed:
            await ended.recv(timeout=5)
        await create_task(team["owner"], team.project_id, "after the expiry")
        assert (await kept.events(1))[0]["name"] == "task.created"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_removed_member_stops_receiving(server: RunningServer, team: Team) -> None:
    async with live(server.ws_url, team["viewer"]) as ws:
        await ws.subscribe(team.project_id)
        removed = await team["owner"].delete(
            f"{API}/projects/{team.project_id}/members/{team.user_id('viewer')}"
        )
        assert removed.status_code == 204
        [event] = await ws.events(1)
        assert event["name"] == "member.removed"
        error = await ws.recv(timeout=1.0)
        assert error["type"] == "error"
        assert error["code"] == "forbidden"
        await create_task(team["owner"], team.project_id, "after removal")
        assert await ws.nothing_within(0.5)
    # Put the viewer back for the other tests of this module.
    await add_member(team["owner"], team.project_id, team["viewer"], "viewer")


async def test_logout_closes_the_socket(server: RunningServer, team: Team) -> None:
    from tests.helpers import ApiClient

    async with ApiClient(base_url=server.base_url) as second:
        await second.login(team["member"].email)
        async with live(server.ws_url, second) as ws:
            await ws.subscribe(team.project_id)
            assert (await second.post(f"{API}/auth/logout")).status_code == 204
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv(timeout=1.5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401


async def test_writes_racing_a_subscribe_arrive_once_in_order(
    server: RunningServer, team: Team
) -> None:
    owner = team["owner"]
    async with live(server.ws_url, owner) as probe:
        start = (await probe.subscribe(team.project_id))["seq"]
    writes = 15

    async def write_all() -> None:
        for i in range(writes):
            await create_task(owner, team.project_id, f"race {i}")

    async with live(server.ws_url, team["member"]) as ws:
        writer = asyncio.create_task(write_all())
        await asyncio.sleep(0.05)
        reply = await ws.subscribe(team.project_id, after_seq=start)
        assert reply["type"] == "subscribed"
        await writer
        got = await ws.events(writes)
        assert [e["seq"] for e in got] == list(range(start + 1, start + writes + 1))
        assert await ws.nothing_within(0.3)


async def test_watchdog_closes_every_socket_of_an_ended_session_only(
    server: RunningServer, team: Team
) -> None:
    """A session can end without a notice reaching us (its deadline passed, Redis lost the
    message): the watchdog closes all its sockets at once and leaves other sessions alone."""
    from tests.helpers import ApiClient

    async with ApiClient(base_url=server.base_url) as second:
        await second.login(team["member"].email)
        cookie = second.cookies.get("session")
        assert cookie is not None
        key = SESSION_KEY.format(hashlib.sha256(cookie.encode()).hexdigest())
        async with (
            live(server.ws_url, second) as ended_a,
            live(server.ws_url, second) as ended_b,
            live(server.ws_url, team["member"]) as kept,
        ):
            for ws in (ended_a, ended_b, kept):
                assert (await ws.subscribe(team.project_id))["type"] == "subscribed"
            await server.resources.redis.hset(key, "abs", "1.0")
            await server.resources.hub.watchdog.check_once()
            for ws in (ended_a, ended_b):
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv(timeout=5)
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4401
            await create_task(team["owner"], team.project_id, "after the session ended")
            assert (await kept.events(1))[0]["name"] == "task.created"
