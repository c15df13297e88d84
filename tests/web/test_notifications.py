"""The notification bell and the watch toggle in the browser, against the real server."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser
from tests.web.pages import shared_project, slow_sync

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


async def test_bell_counts_live_opens_the_task_and_marks_read(make_user: MakeUser) -> None:
    alice, bob, project_id = await shared_project(make_user)
    page = alice.page
    count = page.locator("#bell-count")
    await expect(count).to_be_hidden()
    task = await bob.api(
        "POST", f"/projects/{project_id}/tasks", {"title": "Ship it", "assignee_id": alice.id}
    )
    await expect(count).to_have_text("1")  # live, no reload
    await bob.api("POST", f"/tasks/{task['id']}/comments", {"body": "@Alice please check"})
    await expect(count).to_have_text("2")

    # From another view: the click goes to the task's board, then opens the task.
    await page.locator("#my-work-link").click()
    await expect(page.locator("#my-work")).to_be_visible()
    await page.locator("#bell").click()
    items = page.locator("#bell-list .notification")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Bob mentioned you in “Ship it”")
    await expect(items.nth(0)).to_contain_text("@Alice please check")
    await expect(items.nth(1)).to_contain_text("Bob assigned you “Ship it”")
    await expect(page.locator("#bell-list .notification.unread")).to_have_count(2)

    await items.nth(1).click()  # marks it read and opens its task
    dialog = page.locator("#task-dialog")
    await expect(dialog.locator("#task-form [name=title]")).to_have_value("Ship it")
    await expect(count).to_have_text("1")
    await dialog.get_by_role("button", name="Cancel").click()

    await page.locator("#bell").click()
    await expect(page.locator("#bell-list .notification.unread")).to_have_count(1)
    await page.locator("#bell-read-all").click()
    await expect(count).to_be_hidden()
    await expect(page.locator("#bell-list .notification.unread")).to_have_count(0)
    await page.reload()
    await expect(page.locator("#bell-wrap")).to_be_visible()
    await expect(count).to_be_hidden()  # read on the server, not just on the page
    assert (await alice.api("GET", "/notifications/unread-count")) == {"unread": 0}
    assert alice.errors == [] and bob.errors == []


async def test_the_bell_names_who_did_it_once_the_board_knows_them(make_user: MakeUser) -> None:
    """A notification can come before the sync has brought the members of its project (a
    slow network, a busy machine), and with no project open: the name follows them."""
    arrive = asyncio.Event()
    alice = await make_user("Alice", prepare=lambda context: slow_sync(context, arrive))
    bob = await make_user("Bob")
    project = await alice.api("POST", "/projects", {"name": "Launch plan"})
    invitation = await alice.api(
        "POST", f"/projects/{project['id']}/invitations", {"email": bob.email, "role": "member"}
    )
    await bob.api("POST", "/invitations/accept", {"invitation_id": invitation["id"]})
    await bob.api(
        "POST", f"/projects/{project['id']}/tasks", {"title": "Ship it", "assignee_id": alice.id}
    )
    page = alice.page
    await expect(page.locator("#bell-count")).to_have_text("1")
    await page.locator("#bell").click()
    item = page.locator("#bell-list .notification")
    await expect(item).to_contain_text(re.compile("^Someone assigned you “Ship it”"))

    arrive.set()
    await expect(item).to_contain_text(re.compile("^Bob assigned you “Ship it”"))
    assert alice.errors == [] and bob.errors == []


async def test_watch_toggle_persists_and_brings_comments(make_user: MakeUser) -> None:
    alice, bob, project_id = await shared_project(make_user)
    await bob.api("POST", f"/projects/{project_id}/tasks", {"title": "Bob's own"})
    page = alice.page
    card = page.locator(".card").filter(has_text="Bob's own")
    await card.locator(".card-title").click()
    toggle = page.locator("#watch-toggle")
    await expect(toggle).to_have_text("Watch")
    await toggle.click()
    await expect(toggle).to_have_text("Watching (stop)")
    await expect(toggle).to_have_attribute("aria-pressed", "true")

    await page.reload()
    await card.locator(".card-title").click()
    await expect(toggle).to_have_text("Watching (stop)")
    task_id = await card.get_attribute("data-id")
    await bob.api("POST", f"/tasks/{task_id}/comments", {"body": "Progress update"})
    await expect(page.locator("#bell-count")).to_have_text("1")

    await toggle.click()
    await expect(toggle).to_have_text("Watch")
    assert await alice.api("GET", f"/tasks/{task_id}/watch") == {"watching": False}
    assert alice.errors == [] and bob.errors == []
