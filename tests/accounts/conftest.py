"""A server of this package's own, mailing through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from taskmanager.config import Settings
from tests import backends
from tests.helpers import ApiClient, client_factory
from tests.isolated import isolated_server
from tests.mailbox import Mailbox, smtp_server
from tests.server import RunningServer

PUBLIC = "https://tasks.example.com"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as running:
        yield running


@pytest.fixture(scope="module")
def mailbox(smtp: tuple[Mailbox, int]) -> Mailbox:
    return smtp[0]


@pytest.fixture(scope="module")
async def app(
    backend: backends.Backend, make_settings: Callable[..., Settings], smtp: tuple[Mailbox, int]
) -> AsyncIterator[RunningServer]:
    async with isolated_server(
        backend,
        make_settings,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        public_base_url=PUBLIC,
        password_reset_max_per_email_per_hour=4,
        job_poll_seconds=0.2,
    ) as running:
        yield running


@pytest.fixture
async def new_client(app: RunningServer) -> AsyncIterator[Callable[[], ApiClient]]:
    async with client_factory(app.base_url) as make:
        yield make
