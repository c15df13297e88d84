"""A server of its own for the webhook tests (on a database of its own, so the shared test
server's job worker, which refuses loopback targets, never takes these deliveries) and a
real receiver on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from taskmanager.config import Settings
from tests import backends
from tests.helpers import API, ApiClient, Team, make_team, team, team_users
from tests.isolated import isolated_settings
from tests.server import RunningServer, run_server
from tests.webhooks.receiver import Receiver, running_receiver

__all__ = ["team", "team_users"]  # the shared server's team, for tests/webhooks/test_api.py

HOOK_SETTINGS: dict[str, Any] = {
    "webhook_allow_private": True,  # the receiver is on loopback
    "webhook_retry_base_seconds": 0.2,
    "job_poll_seconds": 0.1,
}


@pytest.fixture(scope="module")
async def hooks_server(
    backend: backends.Backend, make_settings: Callable[..., Settings]
) -> AsyncIterator[RunningServer]:
    async with (
        isolated_settings(backend, make_settings, **HOOK_SETTINGS) as settings,
        run_server(settings) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


@pytest.fixture(scope="module")
async def hooks_team(hooks_server: RunningServer) -> AsyncIterator[Team]:
    team = await make_team(hooks_server.base_url, "Hooked project")
    yield team
    await team.aclose()


async def add_webhook(
    client: ApiClient,
    project_id: str,
    receiver: Receiver,
    path: str,
    events: list[str] | None = None,
) -> dict[str, Any]:
    """Register `receiver`'s `path` as a webhook and teach the receiver its secret."""
    response = await client.post(
        f"{API}/projects/{project_id}/webhooks",
        json={"url": receiver.url(path), "events": events or ["*"]},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    receiver.secrets[path] = body["secret"]
    return body
