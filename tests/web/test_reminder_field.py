"""The task dialog's reminder: entered next to the due date in the viewer's time zone,
saved with the task (alone when only it changed), cleared by emptying it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser
from tests.web.pages import open_project
from tests.web.test_task_fields import (
    BOOKKEEPING,
    NEW_YORK,
    changed_fields,
    open_dialog,
    project_with_task,
    save,
)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


async def test_a_new_task_is_created_with_its_reminder(make_user: MakeUser) -> None:
    ada = await make_user("Ada", timezone_id=NEW_YORK)
    project = await ada.api("POST", "/projects", {"name": "Reminders"})
    await open_project(ada, project_id=project["id"])
    page = ada.page
    await page.click("#new-task")
    await page.fill("#task-form [name=title]", "Call the bank")
    await page.fill("#task-form [name=due]", "2026-03-06T17:00")
    await page.fill("#task-form [name=remind]", "2026-03-06T09:30")  # New York: UTC-5
    await save(page)
    [task] = (await ada.api("GET", f"/projects/{project['id']}/tasks"))["items"]
    assert (task["due_at"], task["remind_at"]) == ("2026-03-06T22:00:00Z", "2026-03-06T14:30:00Z")
    assert ada.errors == []


async def test_the_reminder_is_shown_changed_and_cleared_on_its_own(make_user: MakeUser) -> None:
    ada = await make_user("Ada", timezone_id=NEW_YORK)
    project_id, created = await project_with_task(ada, remind_at="2026-03-06T14:00:00Z")
    await open_project(ada, project_id=project_id)
    await open_dialog(ada.page, created["title"])
    remind = ada.page.locator("#task-form [name=remind]")
    await expect(remind).to_have_value("2026-03-06T09:00")  # New York wall-clock time

    await remind.fill("2026-03-10T08:15")  # after the DST change: UTC-4
    await save(ada.page)
    after = await ada.api("GET", f"/tasks/{created['id']}")
    assert after["remind_at"] == "2026-03-10T12:15:00Z"
    assert changed_fields(created, after) == {"remind_at"} | BOOKKEEPING

    await open_dialog(ada.page, created["title"])
    await remind.fill("")
    await save(ada.page)
    cleared = await ada.api("GET", f"/tasks/{created['id']}")
    assert (cleared["remind_at"], cleared["due_at"]) == (None, after["due_at"])
    assert ada.errors == []
