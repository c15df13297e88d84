"""Notification e-mail settings in the profile dialog, and the page an unsubscribe link
opens in a browser (a button, nothing changed until it is pressed), in real Chromium."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.async_api import expect

from taskmanager.kit.signing import KEY_FILE
from taskmanager.notifications.emails.tokens import UNSUBSCRIBE_PATH, make_token
from taskmanager.notifications.kinds import NotificationKind
from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

SETTINGS = "/auth/me/notification-settings"


async def test_profile_dialog_saves_notification_email_settings(make_user: MakeUser) -> None:
    gwen = await make_user("Gwen")
    page = gwen.page
    await page.click("#profile-open")
    kinds = page.locator("#notify-kinds")
    await expect(kinds.locator("input[type=checkbox]")).to_have_count(len(NotificationKind))
    await expect(kinds.locator("input[name=assigned]")).to_be_checked()
    await expect(kinds.locator("input[name=commented]")).not_to_be_checked()
    await expect(page.locator("#notify-form [name=digest]")).to_have_value("off")

    await kinds.get_by_label("Comments on tasks I created").check()
    await kinds.get_by_label("A task is assigned to me").uncheck()
    await page.select_option("#notify-form [name=digest]", "daily")
    await page.click("#notify-form button[type=submit]")
    await expect(page.locator("#toast")).to_contain_text("E-mail settings saved")
    saved = await gwen.api("GET", SETTINGS)
    assert saved["digest"] == "daily"
    assert saved["email"]["commented"] is True and saved["email"]["assigned"] is False

    # Opened again after a reload, the dialog shows what was saved.
    await page.reload()
    await page.wait_for_selector("#app-view:not([hidden])")
    await page.click("#profile-open")
    await expect(kinds.locator("input[name=commented]")).to_be_checked()
    await expect(kinds.locator("input[name=assigned]")).not_to_be_checked()
    await expect(page.locator("#notify-form [name=digest]")).to_have_value("daily")
    assert not gwen.errors, gwen.errors


async def test_an_unsubscribe_link_asks_before_it_acts(
    make_user: MakeUser, data_dir: Path, base_url: str
) -> None:
    hank = await make_user("Hank")
    # The link a mail would carry, signed with the server's key (kept in its DATA_DIR).
    key = (data_dir / KEY_FILE).read_bytes().strip()
    token = make_token(key, uuid.UUID(hank.id), NotificationKind.MENTIONED)
    url = f"{base_url}{UNSUBSCRIBE_PATH}?token={token}"
    page = await hank.context.new_page()  # as from a mail client; the board stays open
    await page.goto(url)
    await expect(page.locator("h1")).to_have_text("Unsubscribe")
    await expect(page.locator("body")).to_contain_text("“mentioned” notifications")
    assert (await hank.api("GET", SETTINGS))["email"]["mentioned"] is True
    await page.get_by_role("button", name="Unsubscribe").click()
    await expect(page.locator("h1")).to_have_text("Unsubscribed")
    settings_now = await hank.api("GET", SETTINGS)
    assert settings_now["email"]["mentioned"] is False
    assert settings_now["email"]["assigned"] is True
