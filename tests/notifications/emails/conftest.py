"""A server of this package's own, mailing through a real SMTP server (aiosmtpd), and a way
to make notifications without the routes that make them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from taskmanager.config import Settings
from taskmanager.notifications.kinds import NotificationKind
from taskmanager.notifications.service import notify
from taskmanager.uow import unit_of_work
from tests import backends
from tests.helpers import ApiClient, client_factory, create_project, create_task, verify_email
from tests.isolated import isolated_server
from tests.mailbox import Mailbox, smtp_server
from tests.server import RunningServer

PUBLIC = "https://tasks.example.com"
# Short enough for a test to wait out, long enough that a burst right after a mail waits.
INTERVAL_SECONDS = 3


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
        job_poll_seconds=0.2,
        notification_mail_interval_seconds=INTERVAL_SECONDS,
        # The periodic digest job mails at whatever hour the test runs.
        notification_digest_hour_utc=0,
    ) as running:
        yield running


@pytest.fixture
async def new_client(app: RunningServer) -> AsyncIterator[Callable[[], ApiClient]]:
    async with client_factory(app.base_url) as make:
        yield make


@dataclass
class Scene:
    """An actor's project and task, and a way to notify anyone about them."""

    app: RunningServer
    actor: ApiClient
    project: dict[str, Any]
    task: dict[str, Any]

    async def notify(self, *pairs: tuple[ApiClient, NotificationKind]) -> None:
        """Each (recipient, kind) notified, all in one transaction, as a write would."""
        async with unit_of_work(self.app.resources) as uow:
            for recipient, kind in pairs:
                await notify(
                    uow.session,
                    recipients=[uuid.UUID(recipient.user["id"])],
                    kind=kind,
                    actor_id=uuid.UUID(self.actor.user["id"]),
                    project_id=uuid.UUID(self.project["id"]),
                    task_id=uuid.UUID(self.task["id"]),
                )


@pytest.fixture
async def scene(app: RunningServer, new_client: Callable[[], ApiClient]) -> Scene:
    actor = new_client()
    await actor.register()
    project = await create_project(actor, "Garden")
    task = await create_task(actor, project["id"], "Water the roses")
    return Scene(app, actor, project, task)


@pytest.fixture
def recipient(new_client: Callable[[], ApiClient]) -> Callable[..., Any]:
    """A new, signed-in user; verified unless told otherwise."""

    async def make(*, verified: bool = True) -> ApiClient:
        client = new_client()
        await client.register()
        if verified:
            await verify_email(client)
        return client

    return make
