"""Search and filters on the board, the 390 px layout, a project appearing live for a
user who was just added to it, and one opened before the first sync has arrived."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import ARTIFACTS, CHROMIUM, NO_CHROMIUM, MakeUser, User
from tests.web.pages import cards, open_project, quick_add, shared_project, slow_sync

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

PHONE = {"width": 390, "height": 844}


async def seed_tasks(owner: User, project_id: str, helper_id: str) -> dict[str, str]:
    label = await owner.api(
        "POST", f"/projects/{project_id}/labels", {"name": "backend", "color": "#3366ff"}
    )
    tasks: list[dict[str, Any]] = [
        {"title": "Write release notes", "priority": "low"},
        {"title": "Fix login bug", "priority": "urgent", "label_ids": [label["id"]]},
        {"title": "Review notes draft", "assignee_id": helper_id, "status": "in_progress"},
        {"title": "Plan the offsite", "description": "book the release party venue"},
    ]
    for task in tasks:
        await owner.api("POST", f"/projects/{project_id}/tasks", task)
    return {"label": label["id"]}


async def shown(page: Page) -> list[str]:
    await expect(page.locator("#filters")).not_to_have_attribute("data-state", "loading")
    titles = await page.locator(".card .card-title").all_text_contents()
    return sorted(titles)


async def test_search_and_filters_use_the_list_api(make_user: MakeUser) -> None:
    alice, bob, project_id = await shared_project(make_user)
    await seed_tasks(alice, project_id, bob.id)
    page = alice.page
    await expect(page.locator(".card")).to_have_count(4)
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/tasks?" in r.url else None)

    # Text search matches title or description, case-insensitively.
    await page.fill("#filters [name=q]", "RELEASE")
    await expect(page.locator(".card")).to_have_count(2)
    assert await shown(page) == ["Plan the offsite", "Write release notes"]
    assert any("q=RELEASE" in url for url in searches)
    # Filters combine with it (and with each other).
    await page.select_option("#filters [name=priority]", "low")
    await expect(page.locator(".card")).to_have_count(1)
    assert await shown(page) == ["Write release notes"]

    await page.click("#filters button[type=reset]")
    await expect(page.locator(".card")).to_have_count(4)
    await page.select_option("#filters [name=assignee_id]", label="Bob")
    await expect(page.locator(".card")).to_have_count(1)
    assert await shown(page) == ["Review notes draft"]
    await page.select_option("#filters [name=assignee_id]", "")
    await page.select_option("#filters [name=label_id]", label="backend")
    await expect(page.locator(".card")).to_have_count(1)
    assert await shown(page) == ["Fix login bug"]
    await expect(page.locator(".column[data-status=todo] .count")).to_have_text("1")

    # While filtering, live changes are matched too: Bob labels a task, it shows up.
    fix_notes = (await bob.api("GET", f"/projects/{project_id}/tasks?q=offsite"))["items"][0]
    labels = await bob.api("GET", f"/projects/{project_id}/labels")
    await bob.api("PATCH", f"/tasks/{fix_notes['id']}", {"label_ids": [labels["items"][0]["id"]]})
    await expect(page.locator(".card")).to_have_count(2)
    await bob.api("POST", f"/projects/{project_id}/tasks", {"title": "Unlabelled newcomer"})
    await expect(bob.page.locator(".card")).to_have_count(5)
    assert await shown(page) == ["Fix login bug", "Plan the offsite"]

    # Nothing matches: an empty board, not an error; clearing brings everything back.
    await page.fill("#filters [name=q]", "no such words anywhere")
    await expect(page.locator(".card")).to_have_count(0)
    await page.click("#filters button[type=reset]")
    await expect(page.locator(".card")).to_have_count(5)
    assert alice.errors == [] and bob.errors == []


async def no_horizontal_overflow(page: Page) -> None:
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == PHONE["width"], widths


async def test_the_board_fits_a_390_px_screen(make_user: MakeUser) -> None:
    ada = await make_user("Ada", viewport=PHONE, is_mobile=True, has_touch=True)
    await no_horizontal_overflow(ada.page)
    project = await ada.api("POST", "/projects", {"name": "A project with a rather long name"})
    await seed_tasks(ada, project["id"], ada.id)
    long_title = "An unusually long task title that would push a fixed-width column " * 2
    await ada.api(
        "POST",
        f"/projects/{project['id']}/tasks",
        {"title": long_title.strip()[:200], "due_at": "2020-01-01T00:00:00Z"},
    )
    await open_project(ada, project_id=project["id"])
    page = ada.page
    await expect(page.locator(".card")).to_have_count(5)
    await no_horizontal_overflow(page)
    # One column under another, each within the screen.
    boxes = [await c.bounding_box() for c in await page.locator(".column").all()]
    assert all(box is not None and box["x"] >= 0 for box in boxes)
    assert all(box is not None and box["x"] + box["width"] <= PHONE["width"] for box in boxes)
    assert len({box["x"] for box in boxes if box}) == 1  # stacked, not side by side

    for control in ("#filters [name=q]", ".column[data-status=todo] .quick-add input"):
        await expect(page.locator(control)).to_be_visible()
    await quick_add(page, "Added on a phone")
    await page.click(f"{cards(page, 'todo')}:has-text('Added on a phone')")
    await expect(page.locator("#task-dialog")).to_be_visible()
    await no_horizontal_overflow(page)
    dialog = await page.locator("#task-dialog").bounding_box()
    assert dialog is not None and dialog["x"] >= 0
    assert dialog["x"] + dialog["width"] <= PHONE["width"]
    await expect(page.locator("#save-task")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "board-390px-dialog.png"))
    await page.keyboard.press("Escape")
    await page.screenshot(path=str(ARTIFACTS / "board-390px.png"), full_page=True)
    assert ada.errors == []


async def test_a_project_shared_with_me_appears_without_reloading(make_user: MakeUser) -> None:
    alice = await make_user("Alice")
    bob = await make_user("Bob")
    await expect(bob.page.locator("#project-list")).to_have_text("No projects yet.")
    await bob.page.evaluate("window.__sameDocument = true")

    project = await alice.api("POST", "/projects", {"name": "Shared later"})
    invitation = await alice.api(
        "POST", f"/projects/{project['id']}/invitations", {"email": bob.email, "role": "member"}
    )
    # Accepted through the API (the inbox has its own test), as from another device.
    await bob.api("POST", "/invitations/accept", {"invitation_id": invitation["id"]})
    # Bob comes back to the tab (the list is also re-read every 30 s and on reconnect).
    await bob.page.evaluate("window.dispatchEvent(new Event('focus'))")
    link = bob.page.locator("#project-list a", has_text="Shared later")
    await expect(link).to_be_visible()
    await expect(bob.page.locator("#toast")).to_contain_text("Shared later")
    await link.click()
    await expect(bob.page.locator("#project-title")).to_have_text("Shared later")
    await expect(bob.page.locator("#role-badge")).to_have_text("member")
    assert await bob.page.evaluate("window.__sameDocument") is True

    # And taken away again: the list follows, without a reload either.
    await alice.api("DELETE", f"/projects/{project['id']}/members/{bob.id}")
    await expect(bob.page.locator("#project-list a", has_text="Shared later")).to_have_count(0)
    assert alice.errors == [] and bob.errors == []


async def test_a_project_opened_before_the_first_sync_arrives_stays_open(
    make_user: MakeUser,
) -> None:
    """The page's first sync, read before the project was made but arriving after it was
    opened (a slow network), does not take it for a project the user lost."""
    arrive = asyncio.Event()
    ada = await make_user("Ada", prepare=lambda context: slow_sync(context, arrive))
    project = await ada.api("POST", "/projects", {"name": "Fresh"})
    await open_project(ada, project_id=project["id"])
    page = ada.page
    await expect(page.locator("#new-task")).to_be_visible()

    arrive.set()
    # The members come with the project from the sync, after its first answer.
    await expect(page.locator("#member-list .member-name")).to_have_text(["Ada"])
    await expect(page.locator("#project-title")).to_have_text("Fresh")
    await expect(page.locator("#new-task")).to_be_visible()
    await expect(page.locator("#toast")).to_be_hidden()
    await quick_add(page, "First task")
    assert ada.errors == []
