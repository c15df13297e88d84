"""Subtasks, relation chips and "My work" in the browser, against the real server."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser
from tests.web.pages import cards, open_project, quick_add, shared_project

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


async def test_subtasks_show_progress_on_the_card_live(make_user: MakeUser) -> None:
    alice, bob, _ = await shared_project(make_user)
    page = alice.page
    await quick_add(page, "Launch")
    # Exactly the card titled Launch (its subtasks' cards say "↳ Launch").
    parent = page.locator(".card").filter(has=page.get_by_role("button", name="Launch", exact=True))
    await parent.locator(".card-title").click()
    dialog = page.locator("#task-dialog")
    for title in ("Write notes", "Tell the team"):
        await dialog.locator("#subtask-form [name=title]").fill(title)
        await dialog.locator("#subtask-form [name=title]").press("Enter")
        await expect(dialog.locator("#subtask-list li").filter(has_text=title)).to_have_count(1)
    await expect(parent.locator(".subtask-progress")).to_have_text("☑ 0/2")
    await dialog.get_by_label("Done: Write notes").check()
    await expect(parent.locator(".subtask-progress")).to_have_text("☑ 1/2")
    await expect(dialog.locator(".depth h3").first).to_have_text("Subtasks (1/2)")

    # Bob's board follows live: the subtask cards point at their parent, the progress counts.
    bob_parent = bob.page.locator(".card").filter(
        has=bob.page.get_by_role("button", name="Launch", exact=True)
    )
    await expect(bob_parent.locator(".subtask-progress")).to_have_text("☑ 1/2")
    sub = bob.page.locator(".card").filter(has_text="Tell the team")
    await expect(sub.locator(".parent-ref")).to_have_text("↳ Launch")
    assert (await alice.api("GET", f"/tasks/{await parent.get_attribute('data-id')}"))[
        "subtask_counts"
    ] == {"total": 2, "done": 1}


async def test_blocked_cards_are_marked(make_user: MakeUser) -> None:
    alice, bob, project_id = await shared_project(make_user)
    first = await alice.api("POST", f"/projects/{project_id}/tasks", {"title": "Design"})
    second = await alice.api("POST", f"/projects/{project_id}/tasks", {"title": "Build"})
    await alice.api(
        "POST", f"/tasks/{first['id']}/relations", {"kind": "blocks", "task_id": second["id"]}
    )
    for page in (alice.page, bob.page):
        build = page.locator(".card").filter(has_text="Build")
        await expect(build).to_have_class(re.compile(r"\bblocked\b"))
        await expect(build.locator(".rel-chip.blocked")).to_have_text("blocked")
        design = page.locator(".card").filter(has_text="Design")
        await expect(design.locator(".rel-chip")).to_have_text("blocks 1")
    await bob.page.locator(".card").filter(has_text="Build").locator(".card-title").click()
    await expect(bob.page.locator(".relation-list li.blocked")).to_have_text("blocked by Design")


async def test_my_work_lists_my_tasks_across_projects(make_user: MakeUser) -> None:
    alice = await make_user("Alice")
    first = await alice.api("POST", "/projects", {"name": "Home"})
    second = await alice.api("POST", "/projects", {"name": "Office"})
    me = alice.id
    await alice.api(
        "POST",
        f"/projects/{second['id']}/tasks",
        {"title": "Send invoice", "assignee_id": me, "due_at": "2030-01-02T09:00:00Z"},
    )
    await alice.api(
        "POST",
        f"/projects/{first['id']}/tasks",
        {"title": "Water plants", "assignee_id": me, "due_at": "2030-01-01T09:00:00Z"},
    )
    await alice.api("POST", f"/projects/{first['id']}/tasks", {"title": "Not mine"})
    await open_project(alice, project_id=first["id"])
    page = alice.page
    await page.click("#my-work-link")
    items = page.locator("#my-work-list .work-item")
    await expect(items).to_have_count(2)
    await expect(items.locator(".work-title")).to_have_text(["Water plants", "Send invoice"])
    await expect(items.locator(".work-project")).to_have_text(["Home", "Office"])
    await page.click("#calendar-link")
    await expect(page.locator("#calendar-url")).to_have_value(
        re.compile(r"/api/v1/calendar/[A-Za-z0-9_-]+\.ics$")
    )
    # A task opens its project's board.
    await items.locator(".work-title").filter(has_text="Send invoice").click()
    await expect(page.locator(cards(page, "todo")).filter(has_text="Send invoice")).to_have_count(1)
    await expect(page.locator("#my-work")).to_be_hidden()
