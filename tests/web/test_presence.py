"""Presence on the board in real Chromium: who else is here (initials in the top bar) and
a marker on the card someone else has open for editing; both go when they leave."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser
from tests.web.pages import quick_add, shared_project

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


async def test_viewers_and_an_editing_marker_appear_and_go(make_user: MakeUser) -> None:
    alice, bob, _ = await shared_project(make_user)
    a, b = alice.page, bob.page
    # Each sees the other's initials, not their own.
    await expect(a.locator("#presence .avatar")).to_have_text(["BO"])
    await expect(a.locator(f"#presence .avatar[data-user-id='{bob.id}']")).to_have_attribute(
        "title", "Bob"
    )
    await expect(b.locator("#presence .avatar")).to_have_text(["AL"])

    await quick_add(a, "Write the spec")
    await quick_add(a, "Ship it")
    await expect(b.locator(".card")).to_have_count(2)
    # Bob opens a task: Alice sees that card marked, and only that one.
    await b.locator(".card-title", has_text="Ship it").click()
    await expect(b.locator("#task-dialog")).to_be_visible()
    marked = a.locator(".card.being-edited")
    await expect(marked).to_have_count(1)
    await expect(marked.locator(".card-title")).to_have_text("Ship it")
    await expect(marked.locator(".editing-marker")).to_have_text("✎ BO")
    await expect(a.locator("#presence .avatar.editing")).to_have_text(["BO"])
    # Bob's own board shows no marker for his own editing.
    await expect(b.locator(".card.being-edited")).to_have_count(0)

    # Closing the dialog: back to viewing, the marker goes.
    await b.keyboard.press("Escape")
    await expect(b.locator("#task-dialog")).to_be_hidden()
    await expect(a.locator(".card.being-edited")).to_have_count(0)
    await expect(a.locator("#presence .avatar")).to_have_text(["BO"])

    # Bob opens it again and then closes his browser: he is gone from Alice's board.
    await b.locator(".card-title", has_text="Write the spec").click()
    await expect(a.locator(".card.being-edited .card-title")).to_have_text("Write the spec")
    await bob.context.close()
    await expect(a.locator("#presence .avatar")).to_have_count(0)
    await expect(a.locator(".card.being-edited")).to_have_count(0)
    await expect(a.locator("#presence")).to_be_hidden()
    assert alice.errors == []
