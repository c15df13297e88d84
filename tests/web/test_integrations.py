"""The Integrations dialog: an admin adds a webhook (its secret shown once), reads the
delivery log with status, code and duration, redelivers, disables and deletes it; members
do not see it. A real receiver on loopback verifies what is sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, expect

from tests import backends
from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser, _free_port, serve_board
from tests.web.pages import quick_add, shared_project
from tests.webhooks.receiver import Receiver, Reply, running_receiver

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
async def base_url(board_backend: backends.Backend, data_dir: Path) -> AsyncIterator[str]:
    """The board's server, allowed to reach the loopback receiver; no automatic retry
    during the test (the redeliver button is what sends again)."""
    async with serve_board(
        board_backend,
        data_dir,
        _free_port(),
        WEBHOOK_ALLOW_PRIVATE="true",
        WEBHOOK_RETRY_BASE_SECONDS="3600",
    ) as url:
        yield url


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


async def refreshed_until(page: Page, row: Locator) -> None:
    """Click the log's Refresh until `row` shows (the worker records a delivery after it)."""
    for _ in range(150):
        if await row.count():
            return
        await page.click("#deliveries-refresh")
        await asyncio.sleep(0.2)
    await expect(row).to_have_count(1)


async def test_an_admin_manages_webhooks_and_reads_the_delivery_log(
    make_user: MakeUser, receiver: Receiver
) -> None:
    alice, bob, _ = await shared_project(make_user, role="member")
    page = alice.page
    await expect(bob.page.locator("#integrations-open")).to_be_hidden()
    receiver.answer("/board", Reply(500, body=b"receiver down"))

    await page.click("#integrations-open")
    await expect(page.locator("#webhook-list")).to_contain_text("No webhooks yet.")
    await page.fill("#webhook-form [name=url]", receiver.url("/board"))
    await page.click("#webhook-form button[type=submit]")
    secret = page.locator("#webhook-secret")
    await expect(secret).to_be_visible()
    receiver.secrets["/board"] = await secret.input_value()
    assert receiver.secrets["/board"].startswith("whsec_")
    hook = page.locator("#webhook-list .webhook")
    await expect(hook).to_contain_text(receiver.url("/board"))
    await expect(hook.locator(".webhook-state")).to_have_text("enabled")

    await page.click("#integrations-close")
    await quick_add(page, "Ship it")
    [first] = await receiver.wait_for("/board", 1)
    assert first.verified
    assert first.body["name"] == "task.created"

    await page.click("#integrations-open")
    await page.click("#webhook-list .webhook >> text=Deliveries")
    failed = page.locator("#delivery-rows tr.delivery.failed")
    await refreshed_until(page, failed)
    await expect(failed.locator(".delivery-code")).to_have_text("500")
    await expect(failed).to_contain_text("task.created")
    await expect(failed).to_contain_text(" ms")

    await failed.locator("text=Redeliver").click()
    _, again = await receiver.wait_for("/board", 2)
    assert again.verified
    assert again.headers["webhook-id"] == first.headers["webhook-id"]
    await refreshed_until(page, page.locator("#delivery-rows tr.delivery.succeeded"))
    await expect(page.locator("#delivery-rows .delivery-code")).to_have_text("200")

    await hook.locator("text=Disable").click()
    await expect(hook.locator(".webhook-state")).to_have_text("disabled (manual)")
    await hook.locator("text=Enable").click()
    await expect(hook.locator(".webhook-state")).to_have_text("enabled")

    await hook.locator("text=Delete").click()  # the page's confirm() is accepted
    await expect(page.locator("#webhook-list")).to_contain_text("No webhooks yet.")
    assert alice.errors == []
