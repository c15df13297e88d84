"""The task dialog changes only what the user edited, and due dates are the viewer's:
shown in their time zone, entered in it, and marked when overdue."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser, User
from tests.web.pages import cards, open_project

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

NEW_YORK = "America/New_York"
DUE = "2026-03-06T23:30:00-05:00"  # 2026-03-07T04:30:00Z
# Written by the server on every change: the only fields besides the edited one that move.
BOOKKEEPING = {"version", "updated_at"}
OVERDUE = re.compile(r"\boverdue\b")


async def project_with_task(owner: User, **task: Any) -> tuple[str, dict[str, Any]]:
    project = await owner.api("POST", "/projects", {"name": "Dates"})
    label = await owner.api(
        "POST", f"/projects/{project['id']}/labels", {"name": "ops", "color": "#22aa88"}
    )
    body = {
        "title": "Renew the certificate",
        # Trailing blanks and a CRLF line break: a textarea hands back LF.
        "description": "Before it lapses.\r\nCheck the chain too.  ",
        "priority": "high",
        "due_at": DUE,
        "assignee_id": owner.id,
        "label_ids": [label["id"]],
        **task,
    }
    created = await owner.api("POST", f"/projects/{project['id']}/tasks", body)
    return project["id"], created


async def open_dialog(page: Page, title: str) -> None:
    await page.click(f".card-title:has-text('{title}')")
    await expect(page.locator("#task-dialog")).to_be_visible()


async def save(page: Page) -> None:
    await page.click("#save-task")
    await expect(page.locator("#task-dialog")).to_be_hidden()


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


@pytest.mark.parametrize(
    ("field", "edit", "expected"),
    [
        ("title", lambda p: p.fill("#task-form [name=title]", "Renew it now"), "Renew it now"),
        ("priority", lambda p: p.select_option("#task-form [name=priority]", "low"), "low"),
        ("status", lambda p: p.select_option("#task-form [name=status]", "done"), "done"),
    ],
)
async def test_editing_one_field_leaves_every_other_field_byte_identical(
    make_user: MakeUser, field: str, edit: Any, expected: str
) -> None:
    ada = await make_user("Ada", timezone_id=NEW_YORK)
    project_id, created = await project_with_task(ada)
    await open_project(ada, project_id=project_id)
    before = await ada.api("GET", f"/tasks/{created['id']}")

    await open_dialog(ada.page, created["title"])
    await edit(ada.page)
    await save(ada.page)

    after = await ada.api("GET", f"/tasks/{created['id']}")
    assert after[field] == expected
    assert changed_fields(before, after) == {field} | BOOKKEEPING
    assert after["version"] == before["version"] + 1
    assert ada.errors == []


async def test_saving_without_edits_changes_nothing(make_user: MakeUser) -> None:
    ada = await make_user("Ada", timezone_id="Asia/Kolkata")  # a half-hour offset
    project_id, created = await project_with_task(ada)
    await open_project(ada, project_id=project_id)
    await open_dialog(ada.page, created["title"])
    await save(ada.page)
    assert await ada.api("GET", f"/tasks/{created['id']}") == created


async def test_due_time_round_trips_in_local_time(make_user: MakeUser) -> None:
    ada = await make_user("Ada", timezone_id=NEW_YORK)
    project_id, created = await project_with_task(ada)
    await open_project(ada, project_id=project_id)
    await open_dialog(ada.page, created["title"])
    due = ada.page.locator("#task-form [name=due]")
    await expect(due).to_have_value("2026-03-06T23:30")  # New York wall-clock time

    await due.fill("2026-03-10T08:15")  # after the DST change: UTC-4
    await save(ada.page)
    after = await ada.api("GET", f"/tasks/{created['id']}")
    assert after["due_at"] == "2026-03-10T12:15:00Z"
    assert changed_fields(created, after) == {"due_at"} | BOOKKEEPING
    card = ada.page.locator(".card")
    await expect(card.locator(".due")).to_have_text("overdue, due 2026-03-10")

    await open_dialog(ada.page, created["title"])
    await due.fill("")  # cleared: no due date at all
    await save(ada.page)
    assert (await ada.api("GET", f"/tasks/{created['id']}"))["due_at"] is None
    await expect(card.locator(".due")).to_have_count(0)


@pytest.mark.parametrize(
    ("timezone", "shown"),
    [(NEW_YORK, "2026-03-06"), ("UTC", "2026-03-07"), ("Pacific/Auckland", "2026-03-07")],
)
async def test_due_dates_are_shown_in_the_viewers_time_zone(
    make_user: MakeUser, timezone: str, shown: str
) -> None:
    viewer = await make_user("Vera", timezone_id=timezone)
    project_id, _ = await project_with_task(viewer, due_at="2030-03-06T23:30:00-05:00")
    await open_project(viewer, project_id=project_id)
    year_shown = shown.replace("2026", "2030")
    await expect(viewer.page.locator(".card .due")).to_have_text(f"due {year_shown}")
    await expect(viewer.page.locator(".card")).not_to_have_class(OVERDUE)


async def test_overdue_tasks_stand_out_until_done(make_user: MakeUser) -> None:
    ada = await make_user("Ada", timezone_id=NEW_YORK)
    project_id, late = await project_with_task(ada, title="Late one")  # due 2026-03-06
    future = {"title": "Later one", "due_at": "2999-01-01T00:00:00Z"}
    await ada.api("POST", f"/projects/{project_id}/tasks", future)
    await open_project(ada, project_id=project_id)
    page = ada.page
    late_card = page.locator(".card", has_text="Late one")
    await expect(late_card).to_have_class(OVERDUE)
    await expect(late_card.locator(".due")).to_have_text("overdue, due 2026-03-06")
    color = await late_card.locator(".due").evaluate("el => getComputedStyle(el).color")
    assert color == "rgb(201, 55, 44)"  # --danger
    await expect(page.locator(".card", has_text="Later one")).not_to_have_class(OVERDUE)

    await ada.api("PATCH", f"/tasks/{late['id']}", {"status": "done"})
    await expect(page.locator(cards(page, "done"))).to_have_text(["Late one"])
    await expect(page.locator(".card", has_text="Late one")).not_to_have_class(OVERDUE)
    await expect(page.locator(".card", has_text="Late one").locator(".due")).to_have_text(
        "due 2026-03-06"
    )
    assert ada.errors == []
