""" "Sign in with <provider>" in real Chromium, through the real OpenID Provider's pages."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests import backends
from tests.oidc.conftest import providers_setting, running_provider
from tests.web.conftest import CHROMIUM, NO_CHROMIUM, _free_port, serve_board

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)


@pytest.fixture(scope="module")
async def base_url(board_backend: backends.Backend, data_dir: Path) -> AsyncIterator[str]:
    """The board, configured with one provider: npm's oidc-provider."""
    port = _free_port()
    callback = f"http://127.0.0.1:{port}/api/v1/auth/oidc/test/callback"
    async with running_provider(callback) as provider:
        providers = json.dumps(providers_setting(provider))
        async with serve_board(board_backend, data_dir, port, OIDC_PROVIDERS=providers) as url:
            yield url


async def test_sign_in_with_the_provider_button(browser: Browser, base_url: str) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{base_url}/")
        button = page.get_by_role("link", name="Sign in with Test ID")
        await expect(button).to_be_visible()
        await button.click()
        email = f"sso-{time.time_ns()}@example.com"
        await page.fill("input[name=login]", email)  # the provider's own sign-in page
        await page.fill("input[name=password]", "anything")
        await page.click("button[type=submit]")
        await page.click("button[type=submit]")  # its consent page
        await expect(page.locator("#user-name")).to_have_text(email.split("@")[0])
        assert page.url == f"{base_url}/"
    finally:
        await context.close()
