"""The board in real Chromium against a real server: live updates between two browsers,
catching up after going offline, text-only rendering, read-only viewers, conflicts."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import ARTIFACTS, CHROMIUM, NO_CHROMIUM, PASSWORD, MakeUser, User

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

XSS = "<img src=x onerror=alert(1)>"


def cards(page: Page, status: str) -> str:
    return f".cards[data-status={status}] .card .card-title"


async def open_project(*users: User, project_id: str) -> None:
    for user in users:
        await user.page.goto(f"{user.page.url.split('#')[0]}#/p/{project_id}")
        await expect(user.page.locator("#connection-state")).to_have_text("live")
        await expect(user.page.locator("#board")).to_be_visible()


async def quick_add(page: Page, title: str, status: str = "todo") -> None:
    field = page.locator(f".column[data-status={status}] .quick-add input")
    await field.fill(title)
    await field.press("Enter")
    await expect(page.locator(cards(page, status)).filter(has_text=title)).to_have_count(1)


async def shared_project(make_user: MakeUser, role: str = "member") -> tuple[User, User, str]:
    alice = await make_user("Alice")
    bob = await make_user("Bob")
    project = await alice.api("POST", "/projects", {"name": "Launch plan"})
    invitation = await alice.api(
        "POST", f"/projects/{project['id']}/invitations", {"email": bob.email, "role": role}
    )
    await bob.api("POST", "/invitations/accept", {"invitation_id": invitation["id"]})
    await open_project(alice, bob, project_id=project["id"])
    return alice, bob, project["id"]


async def test_register_and_log_in_through_the_page(make_user: MakeUser) -> None:
    someone = await make_user("Someone")  # has a context; log out and back in via the form
    page = someone.page
    await page.click("#logout")
    await expect(page.locator("#auth-view")).to_be_visible()
    await page.click("#tab-register")
    await page.fill("#auth-form [name=display_name]", "Carol")
    await page.fill("#auth-form [name=email]", f"carol-{time.time_ns()}@example.com")
    await page.fill("#auth-form [name=password]", PASSWORD)
    await page.click("#auth-submit")
    await expect(page.locator("#user-name")).to_have_text("Carol")
    await page.click("#logout")
    await page.fill("#auth-form [name=email]", someone.email)
    await page.fill("#auth-form [name=password]", "wrong password!")
    await page.click("#auth-submit")
    await expect(page.locator("#auth-error")).not_to_be_empty()
    await page.fill("#auth-form [name=password]", PASSWORD)
    await page.click("#auth-submit")
    await expect(page.locator("#user-name")).to_have_text("Someone")
    await page.fill("#project-form [name=name]", "From the page")
    await page.press("#project-form [name=name]", "Enter")
    await expect(page.locator("#project-title")).to_have_text("From the page")
    await expect(page.locator(".member .role")).to_have_text(["owner"])
    assert someone.errors == []


async def test_drag_in_one_browser_moves_the_card_in_the_other(make_user: MakeUser) -> None:
    alice, bob, _ = await shared_project(make_user)
    a, b = alice.page, bob.page
    for title in ("Write the spec", "Review the spec", "Ship it"):
        await quick_add(a, title)
    await expect(b.locator(cards(b, "todo"))).to_have_text(
        ["Write the spec", "Review the spec", "Ship it"]
    )

    # Between columns: drag "Review the spec" onto the empty In progress column.
    await a.drag_and_drop(".card:has-text('Review the spec')", ".cards[data-status=in_progress]")
    started = time.monotonic()
    await expect(b.locator(cards(b, "in_progress"))).to_have_text(["Review the spec"], timeout=1000)
    assert time.monotonic() - started < 1.0
    await expect(b.locator(cards(b, "todo"))).to_have_text(["Write the spec", "Ship it"])

    # Within a column: drag "Ship it" above "Write the spec".
    await a.drag_and_drop(
        ".card:has-text('Ship it')",
        ".card:has-text('Write the spec')",
        target_position={"x": 40, "y": 4},
    )
    await expect(b.locator(cards(b, "todo"))).to_have_text(
        ["Ship it", "Write the spec"], timeout=1000
    )

    # The keyboard path: focus the "Move right" button of a card and press Enter.
    await a.locator(".card:has-text('Ship it') .move[title='Move right']").focus()
    await a.keyboard.press("Enter")
    await expect(b.locator(cards(b, "in_progress"))).to_have_text(
        ["Review the spec", "Ship it"], timeout=1000
    )

    # An edit in B shows in A.
    await b.click(f"{cards(b, 'todo')}:has-text('Write the spec')")
    await b.fill("#task-form [name=title]", "Write the spec (v2)")
    await b.select_option("#task-form [name=priority]", "high")
    await b.fill("#task-form [name=due]", "2030-01-31")
    await b.select_option("#task-form [name=assignee_id]", label="Alice")
    await b.click("#save-task")
    await expect(a.locator(cards(a, "todo"))).to_have_text(["Write the spec (v2)"], timeout=1000)
    card = a.locator(".cards[data-status=todo] .card")
    await expect(card.locator(".prio")).to_have_text("high")
    await expect(card.locator(".due")).to_have_text("due 2030-01-31")
    await expect(card.locator(".assignee")).to_have_text("Alice")

    # Comments travel too.
    await a.click(cards(a, "todo"))
    await b.click(cards(b, "todo"))
    await b.fill("#comment-form [name=body]", "Looks good to me")
    await b.press("#comment-form [name=body]", "Enter")
    await expect(a.locator("#comment-list .comment p")).to_have_text(["Looks good to me"])
    await a.keyboard.press("Escape")
    await b.keyboard.press("Escape")

    ARTIFACTS.mkdir(exist_ok=True)
    await a.screenshot(path=str(ARTIFACTS / "board.png"))
    assert alice.errors == [] and bob.errors == []


async def test_offline_browser_catches_up_without_reload(make_user: MakeUser) -> None:
    alice, bob, _ = await shared_project(make_user)
    a, b = alice.page, bob.page
    await quick_add(a, "Existing task")
    await expect(b.locator(cards(b, "todo"))).to_have_text(["Existing task"])
    await b.evaluate("window.__sameDocument = true")

    await bob.context.set_offline(True)
    await expect(b.locator("#connection-state")).to_have_text("offline")
    refetches: list[str] = []
    b.on("request", lambda r: refetches.append(r.url) if "/tasks" in r.url else None)
    await quick_add(a, "Made while Bob was away")  # 1: created
    await a.click("text=Existing task")  # 2: renamed
    await a.fill("#task-form [name=title]", "Renamed while Bob was away")
    await a.click("#save-task")
    await a.locator(  # 3: moved
        ".card:has-text('Made while Bob was away') .move[title='Move right']"
    ).click()
    await expect(a.locator(cards(a, "in_progress"))).to_have_text(["Made while Bob was away"])
    await expect(b.locator(cards(b, "todo"))).to_have_text(["Existing task"])

    await bob.context.set_offline(False)
    await expect(b.locator("#connection-state")).to_have_text("live", timeout=10_000)
    await expect(b.locator(cards(b, "todo"))).to_have_text(["Renamed while Bob was away"])
    await expect(b.locator(cards(b, "in_progress"))).to_have_text(["Made while Bob was away"])
    assert await b.evaluate("window.__sameDocument") is True  # no reload happened
    assert refetches == []  # resumed with after_seq: the missed events, no snapshot refetch
    assert alice.errors == [] and bob.errors == []


async def test_user_strings_render_as_text(make_user: MakeUser) -> None:
    alice, bob, project_id = await shared_project(make_user)
    await quick_add(alice.page, XSS)
    await alice.api("POST", f"/projects/{project_id}/labels", {"name": XSS, "color": "#ff0000"})
    for page in (alice.page, bob.page):
        await expect(page.locator(cards(page, "todo"))).to_have_text([XSS])
        await expect(page.locator("#label-list .chip")).to_have_text([XSS])
        assert await page.locator("#board img, #label-list img").count() == 0
    response = await alice.context.request.get(alice.page.url.split("#")[0])
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert alice.errors == [] and bob.errors == []


async def test_viewer_sees_no_edit_controls_and_a_forged_write_shows_403(
    make_user: MakeUser,
) -> None:
    alice, viewer, project_id = await shared_project(make_user, role="viewer")
    await quick_add(alice.page, "Look, don't touch")
    v = viewer.page
    await expect(v.locator(cards(v, "todo"))).to_have_text(["Look, don't touch"])
    await expect(v.locator("#readonly-note")).to_be_visible()
    await expect(v.locator("#role-badge")).to_have_text("viewer")
    for absent in (".quick-add", ".move"):
        await expect(v.locator(absent)).to_have_count(0)
    for hidden in ("#new-task", "#label-form", "#member-form"):
        await expect(v.locator(hidden)).to_be_hidden()
    await expect(v.locator(".card")).to_have_attribute("draggable", "false")
    await v.click(cards(v, "todo"))
    await expect(v.locator("#task-form [name=title]")).to_have_attribute("readonly", "")
    for control in ("#save-task", "#delete-task", "#comment-form"):
        await expect(v.locator(control)).to_have_count(0)
    await v.keyboard.press("Escape")

    # A forged write through the page's own API client: the server refuses, the page says so.
    status = await v.evaluate(
        """async (projectId) => {
            const { api } = await import('/api.js');
            try { await api.createTask(projectId, { title: 'forged' }); return 0; }
            catch (error) { return error.status; }
        }""",
        project_id,
    )
    assert status == 403
    await expect(v.locator("#toast")).to_be_visible()
    await expect(v.locator("#toast")).to_contain_text("403")
    await expect(alice.page.locator(".card")).to_have_count(1)

    # Promoted while looking: the edit controls appear live, without a reload.
    await alice.api("PATCH", f"/projects/{project_id}/members/{viewer.id}", {"role": "member"})
    await expect(v.locator("#role-badge")).to_have_text("member")
    await expect(v.locator(".quick-add")).to_have_count(3)


async def test_conflicting_edit_shows_the_fresh_version(make_user: MakeUser) -> None:
    alice, bob, _ = await shared_project(make_user)
    a, b = alice.page, bob.page
    await quick_add(a, "Budget")
    await b.click(f"{cards(b, 'todo')}:has-text('Budget')")
    await b.fill("#task-form [name=description]", "Bob's notes")

    await a.click(f"{cards(a, 'todo')}:has-text('Budget')")
    await a.fill("#task-form [name=title]", "Budget 2027")
    await a.click("#save-task")
    await expect(b.locator("#dialog-note")).to_be_visible()  # told live, edits kept

    await b.click("#save-task")
    conflict = b.locator("#conflict")
    await expect(conflict).to_be_visible()
    await expect(conflict.locator(".fresh-title")).to_have_text("Budget 2027")
    await expect(b.locator("#task-form [name=description]")).to_have_value("Bob's notes")
    await b.click("#take-theirs")
    await expect(b.locator("#task-form [name=title]")).to_have_value("Budget 2027")
    await b.fill("#task-form [name=description]", "Bob's notes, again")
    await b.click("#save-task")
    await expect(b.locator("#task-dialog")).to_be_hidden()
    await a.click(cards(a, "todo"))
    await expect(a.locator("#task-form [name=description]")).to_have_value("Bob's notes, again")
    await expect(a.locator("#task-form [name=title]")).to_have_value("Budget 2027")
    assert alice.errors == [] and bob.errors == []
