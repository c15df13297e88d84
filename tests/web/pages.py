"""Steps on the board page shared by the browser tests."""

from __future__ import annotations

import asyncio

from playwright.async_api import BrowserContext, Page, Route, expect

from tests.web.conftest import MakeUser, User


def cards(page: Page, status: str) -> str:
    return f".cards[data-status={status}] .card .card-title"


async def open_project(*users: User, project_id: str) -> None:
    for user in users:
        await user.page.goto(f"{user.page.url.split('#')[0]}#/p/{project_id}")
        await expect(user.page.locator("#connection-state")).to_have_text("live")
        await expect(user.page.locator("#board")).to_be_visible()


async def slow_sync(target: Page | BrowserContext, arrive: asyncio.Event) -> None:
    """A slow network: each GET /sync is answered by the server at once, but the answer
    reaches the page only once `arrive` is set."""

    async def held(route: Route) -> None:
        response = await route.fetch()
        await arrive.wait()
        await route.fulfill(response=response)

    await target.route("**/api/v1/sync?*", held)


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
