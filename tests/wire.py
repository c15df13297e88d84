"""Whether requests reuse one keep-alive connection: counts the TCP connects httpx makes."""

from __future__ import annotations

from typing import Any

import httpx


class ConnectCounter:
    """An httpx `trace` extension that counts new TCP connections.

    Pass `extensions=counter.extensions` on each request; a server that resets the
    connection after an answer (as it did after an unhandled OverflowError) forces the
    next request onto a new one, which shows up here.
    """

    def __init__(self) -> None:
        self.connects = 0

    async def _trace(self, event: str, _info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.connects += 1

    @property
    def extensions(self) -> dict[str, Any]:
        return {"trace": self._trace}


async def assert_connection_kept(client: httpx.AsyncClient, counter: ConnectCounter) -> None:
    """The last answer left the connection open: the next request reuses it."""
    before = counter.connects
    response = await client.get("/health/live", extensions=counter.extensions)
    assert response.status_code == 200, response.text
    assert counter.connects == before, "the server closed the keep-alive connection"
