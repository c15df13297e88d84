"""The offline-first board: edits made offline are queued and sent on reconnect, a conflict
is put to the user with both versions, a reload offline starts from IndexedDB, the local
data is per user, and without IndexedDB the board still works (from memory)."""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page, expect

from tests.web.conftest import PASSWORD, MakeUser, User
from tests.web.pages import cards, open_project, quick_add, shared_project

POLL_SECONDS = 0.1
POLL_TIMES = 100


async def tasks_by_title(user: User, project_id: str) -> dict[str, dict[str, Any]]:
    page = await user.api("GET", f"/projects/{project_id}/tasks?sort=position")
    return {t["title"]: t for t in page["items"]}


async def server_has(user: User, project_id: str, titles: set[str]) -> dict[str, dict[str, Any]]:
    """The project's tasks once their titles are `titles` (the outbox sends in the background)."""
    for _ in range(POLL_TIMES):
        tasks = await tasks_by_title(user, project_id)
        if set(tasks) == titles:
            return tasks
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"server has {sorted(tasks)}, expected {sorted(titles)}")


async def rename(page: Page, title: str, new_title: str) -> None:
    await page.click(f".card-title:text-is('{title}')")
    await page.fill("#task-form [name=title]", new_title)
    await page.click("#save-task")
    await expect(page.locator("#task-dialog")).to_be_hidden()


async def local_databases(page: Page, expected: list[str]) -> None:
    """The board's IndexedDB databases become `expected` (a deletion completes in the
    background)."""
    for _ in range(POLL_TIMES):
        names: list[str] = await page.evaluate(
            "indexedDB.databases().then((dbs) => dbs.map((d) => d.name))"
        )
        found = sorted(n for n in names if n.startswith("taskmanager-"))
        if found == expected:
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"local databases {found}, expected {expected}")


async def test_offline_edits_land_on_reconnect_and_a_conflict_shows_both_versions(
    make_user: MakeUser,
) -> None:
    alice, bob, project_id = await shared_project(make_user)
    a, b = alice.page, bob.page
    for title in ("Alpha", "Beta", "Gamma"):
        await quick_add(a, title)
    await expect(b.locator(cards(b, "todo"))).to_have_text(["Alpha", "Beta", "Gamma"])

    await alice.context.set_offline(True)
    await expect(a.locator("#connection-state")).to_have_text("offline")
    await rename(a, "Alpha", "Alpha, renamed offline")
    await a.locator(".card:has-text('Beta') .move[title='Move right']").click()
    await rename(a, "Gamma", "Gamma by Alice")
    # Shown at once, marked as not sent yet, and counted.
    await expect(a.locator(cards(a, "todo"))).to_have_text(
        ["Alpha, renamed offline", "Gamma by Alice"]
    )
    await expect(a.locator(cards(a, "in_progress"))).to_have_text(["Beta"])
    await expect(a.locator(".card.pending")).to_have_count(3)
    await expect(a.locator("#outbox-state")).to_have_text("3 pending")
    assert set(await tasks_by_title(alice, project_id)) == {"Alpha", "Beta", "Gamma"}

    # Meanwhile Bob, online, edits one of the three.
    await rename(b, "Gamma", "Gamma by Bob")

    await alice.context.set_offline(False)
    conflict = a.locator("#conflict-dialog")
    await expect(conflict).to_be_visible(timeout=10_000)
    await expect(conflict.locator("tr[data-field=title] .theirs")).to_have_text("Gamma by Bob")
    await expect(conflict.locator("tr[data-field=title] .mine")).to_have_text("Gamma by Alice")
    await expect(a.locator("#outbox-state")).to_have_text("1 conflict")
    # The two others landed; Bob's change was not overwritten.
    tasks = await server_has(alice, project_id, {"Alpha, renamed offline", "Beta", "Gamma by Bob"})
    assert tasks["Beta"]["status"] == "in_progress"
    await expect(b.locator(cards(b, "in_progress"))).to_have_text(["Beta"])

    await a.click("#conflict-keep-mine")
    await expect(conflict).to_be_hidden()
    tasks = await server_has(
        alice, project_id, {"Alpha, renamed offline", "Beta", "Gamma by Alice"}
    )
    assert tasks["Gamma by Alice"]["version"] == 3  # created, Bob's rename, Alice's rename
    await expect(a.locator("#outbox-state")).to_be_hidden()
    await expect(a.locator(".card.pending")).to_have_count(0)
    await expect(b.locator(cards(b, "todo"))).to_have_text(
        ["Alpha, renamed offline", "Gamma by Alice"]
    )
    assert alice.errors == [] and bob.errors == []


async def test_taking_theirs_drops_the_offline_edit(make_user: MakeUser) -> None:
    alice, bob, project_id = await shared_project(make_user)
    a = alice.page
    await quick_add(a, "Budget")
    await alice.context.set_offline(True)
    await expect(a.locator("#connection-state")).to_have_text("offline")
    await a.locator(".card:has-text('Budget') .move[title='Move right']").click()
    tasks = await tasks_by_title(bob, project_id)
    await bob.api("POST", f"/tasks/{tasks['Budget']['id']}/move", {"status": "done"})

    await alice.context.set_offline(False)
    conflict = a.locator("#conflict-dialog")
    await expect(conflict.locator("tr[data-field=status] .theirs")).to_have_text("done")
    await expect(conflict.locator("tr[data-field=status] .mine")).to_have_text("in_progress")
    await a.click("#conflict-take-theirs")
    await expect(conflict).to_be_hidden()
    await expect(a.locator(cards(a, "done"))).to_have_text(["Budget"])
    await expect(a.locator("#outbox-state")).to_be_hidden()
    assert (await tasks_by_title(alice, project_id))["Budget"]["status"] == "done"
    assert alice.errors == [] and bob.errors == []


async def test_reload_offline_starts_from_the_local_database(make_user: MakeUser) -> None:
    alice = await make_user("Alice")
    project = await alice.api("POST", "/projects", {"name": "Trip"})
    await open_project(alice, project_id=project["id"])
    a = alice.page
    await quick_add(a, "Pack bags")
    await a.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # Opened by its address, the project is shown at once but kept in the local database
    # once the live stream has added it (its membership check runs every second): the
    # sidebar lists it from then on.
    await expect(a.locator("#project-list a", has_text="Trip")).to_have_count(1)

    await alice.context.set_offline(True)
    await a.reload()
    await expect(a.locator("#app-view")).to_be_visible()
    await expect(a.locator("#connection-state")).to_have_text("offline")
    await expect(a.locator("#project-title")).to_have_text("Trip")
    await expect(a.locator(cards(a, "todo"))).to_have_text(["Pack bags"])

    # Made offline, kept across another reload, sent when back online.
    await quick_add(a, "Buy tickets")
    await a.reload()
    await expect(a.locator(cards(a, "todo"))).to_have_text(["Pack bags", "Buy tickets"])
    await expect(a.locator("#outbox-state")).to_have_text("1 pending")
    await alice.context.set_offline(False)
    await expect(a.locator("#connection-state")).to_have_text("live", timeout=10_000)
    await expect(a.locator("#outbox-state")).to_be_hidden()
    await server_has(alice, project["id"], {"Pack bags", "Buy tickets"})
    await expect(a.locator(".card.pending")).to_have_count(0)
    assert alice.errors == []


async def test_local_data_is_per_user_and_goes_at_sign_out(make_user: MakeUser) -> None:
    alice = await make_user("Alice")
    bob = await make_user("Bob")
    project = await alice.api("POST", "/projects", {"name": "Secret plan"})
    await open_project(alice, project_id=project["id"])
    a = alice.page
    await quick_add(a, "Surprise party")
    await local_databases(a, [f"taskmanager-{alice.id}"])

    await a.click("#logout")
    await expect(a.locator("#auth-view")).to_be_visible()
    await local_databases(a, [])

    # Bob signs in on the same browser: none of Alice's data, even offline after a reload.
    await a.fill("#auth-form [name=email]", bob.email)
    await a.fill("#auth-form [name=password]", PASSWORD)
    await a.click("#auth-submit")
    await expect(a.locator("#user-name")).to_have_text("Bob")
    await expect(a.locator("#project-list")).to_have_text("No projects yet.")
    await alice.context.set_offline(True)
    await a.reload()
    await expect(a.locator("#user-name")).to_have_text("Bob")
    await expect(a.locator("#project-list")).to_have_text("No projects yet.")
    await a.goto(f"{a.url.split('#')[0]}#/p/{project['id']}")
    await expect(a.locator(".card")).to_have_count(0)
    await local_databases(a, [f"taskmanager-{bob.id}"])
    assert alice.errors == []


async def test_without_indexeddb_the_board_works_from_memory(make_user: MakeUser) -> None:
    alice, bob, _ = await shared_project(make_user)
    a = alice.page
    await alice.context.add_init_script(
        "Object.defineProperty(window, 'indexedDB', { get() {"
        " throw new DOMException('blocked', 'SecurityError'); } });"
    )
    await a.reload()
    await expect(a.locator("#connection-state")).to_have_text("live")
    await quick_add(a, "Still works")
    await expect(bob.page.locator(cards(bob.page, "todo"))).to_have_text(["Still works"])
    await bob.page.locator(".card:has-text('Still works') .move[title='Move right']").click()
    await expect(a.locator(cards(a, "in_progress"))).to_have_text(["Still works"])
    assert alice.errors == [] and bob.errors == []
