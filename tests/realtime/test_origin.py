"""The WebSocket Origin check: same origin is scheme, host and port; ALLOWED_ORIGINS is exact."""

from __future__ import annotations

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import StartServer
from tests.helpers import Team, team, team_users
from tests.realtime.wsclient import cookie_headers, live
from tests.server import RunningServer

__all__ = ["team", "team_users"]


async def refused(ws_url: str, headers: dict[str, str]) -> bool:
    """True if the handshake is refused (403), False if the socket opens."""
    try:
        async with live(ws_url, headers=headers):
            return False
    except InvalidStatus as exc:
        status = exc.response.status_code
    assert status == 403
    return True


@pytest.mark.parametrize(
    "origin",
    [
        "https://127.0.0.1:{port}",  # same host and port, other scheme
        "http://127.0.0.1:{other}",  # same host, other port
        "http://127.0.0.1",  # the default port is another port
        "http://localhost:{port}",  # another host name is another origin
        "http://127.0.0.1:{port}.evil.example",
        "http://user@127.0.0.1:{port}@evil.example",
        "null",
        "http://[::1",
    ],
)
async def test_other_origins_are_refused_with_the_cookie(
    server: RunningServer, team: Team, origin: str
) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    forged = origin.format(port=port, other=int(port) + 1)
    assert await refused(server.ws_url, cookie_headers(team["member"], origin=forged))


async def test_same_origin_is_accepted(server: RunningServer, team: Team) -> None:
    for origin in (server.base_url, server.base_url + "/", server.base_url.upper()):
        async with live(server.ws_url, headers=cookie_headers(team["member"], origin)) as ws:
            assert (await ws.subscribe(team.project_id))["type"] == "subscribed"


async def test_allowed_origins_are_compared_exactly(start_server: StartServer) -> None:
    running = await start_server(allowed_origins=["https://app.example.com"])
    cookie = {"Cookie": "session=not-checked-before-the-origin"}
    assert not await refused(running.ws_url, {**cookie, "Origin": "https://app.example.com"})
    for near_miss in (
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.com.evil.example",
        "https://evil.example",
    ):
        assert await refused(running.ws_url, {**cookie, "Origin": near_miss}), near_miss
