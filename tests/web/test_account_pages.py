"""Account flows in real Chromium: forgot/reset password through the mailed link, invite
and accept from the inbox (the project appears without a reload), the profile dialog."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.mailbox import Mailbox, link_token
from tests.web.conftest import CHROMIUM, NO_CHROMIUM, MakeUser

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)

NEW_PASSWORD = "a fresh passphrase for dora"


async def test_forgot_password_and_reset_through_the_mailed_link(
    make_user: MakeUser, outbox: Mailbox, base_url: str
) -> None:
    dora = await make_user("Dora")
    page = dora.page
    await page.click("#logout")
    await page.click("#forgot-open")
    await page.fill("#forgot-form [name=email]", dora.email)
    await page.click("#forgot-form button[type=submit]")
    await expect(page.locator("#auth-note")).to_contain_text("on its way")

    link_page, token = link_token(await outbox.wait_for(dora.email, "reset your password"))
    assert link_page == f"{base_url}/reset-password"
    await page.goto(f"{link_page}#token={token}")
    await expect(page.locator("#reset-form")).to_be_visible()
    await page.fill("#reset-form [name=new_password]", NEW_PASSWORD)
    await page.click("#reset-form button[type=submit]")
    await expect(page.locator("#auth-note")).to_contain_text("password was changed")
    assert "token" not in page.url  # the token leaves the address bar and the history

    await page.fill("#auth-form [name=email]", dora.email)
    await page.fill("#auth-form [name=password]", NEW_PASSWORD)
    await page.click("#auth-submit")
    await expect(page.locator("#user-name")).to_have_text("Dora")

    # The same link a second time: refused, with a way forward.
    await page.click("#logout")
    await page.goto(f"{link_page}#token={token}")
    await page.fill("#reset-form [name=new_password]", "yet another passphrase")
    await page.click("#reset-form button[type=submit]")
    await expect(page.locator("#reset-error")).to_contain_text("Ask for a new one")
    assert not dora.errors, dora.errors


async def test_invite_then_accept_from_the_inbox_without_a_reload(make_user: MakeUser) -> None:
    alice = await make_user("Alice")
    bob = await make_user("Bob")
    project = await alice.api("POST", "/projects", {"name": "Garden"})
    await alice.page.goto(f"{alice.page.url.split('#')[0]}#/p/{project['id']}")
    await alice.page.fill("#member-form [name=email]", bob.email)
    await alice.page.select_option("#member-form [name=role]", "member")
    await alice.page.click("#member-form button[type=submit]")
    await expect(alice.page.locator("#toast")).to_contain_text("Invitation sent")

    # Bob's board, open all along, shows it when he comes back to the tab.
    await bob.page.evaluate("window.dispatchEvent(new Event('focus'))")
    invitation = bob.page.locator("#invitation-list .invitation")
    await expect(invitation).to_contain_text("Garden (member)")
    # The bell names Alice, though Bob shares no project with her yet.
    await bob.page.locator("#bell").click()
    await expect(bob.page.locator("#bell-list .notification")).to_contain_text(
        "Alice invited you to Garden"
    )
    await bob.page.locator("#bell").click()
    await invitation.get_by_role("button", name="Accept").click()
    await expect(bob.page.locator("#project-list")).to_contain_text("Garden")
    await expect(bob.page.locator("#project-title")).to_have_text("Garden")
    await expect(bob.page.locator("#invitations-panel")).to_be_hidden()
    # Alice sees him join, live.
    await expect(alice.page.locator("#member-list")).to_contain_text("Bob")
    assert not alice.errors and not bob.errors, (alice.errors, bob.errors)


async def test_profile_dialog_renames(make_user: MakeUser) -> None:
    erin = await make_user("Erin")
    await erin.page.click("#profile-open")
    await erin.page.fill("#profile-name-form [name=display_name]", "Erin B.")
    await erin.page.click("#profile-name-form button[type=submit]")
    await expect(erin.page.locator("#user-name")).to_have_text("Erin B.")
    await expect(erin.page.locator("#verify-note")).to_be_hidden()  # verified at sign-up
    wrong = erin.page.locator("#profile-delete-form [name=password]")
    await wrong.fill("not my password")
    await erin.page.click("#profile-delete-form button[type=submit]")
    await expect(erin.page.locator("#profile-error")).to_contain_text("password")
    assert not erin.errors, erin.errors
