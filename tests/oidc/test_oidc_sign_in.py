"""OpenID Connect sign-in against a real provider: the code flow with PKCE, and every way a
callback can be wrong (state, nonce, audience, signature, expiry) -> 400 and no session."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.helpers import API, PASSWORD, ApiClient, assert_problem, unique_email
from tests.oidc.conftest import PUBLIC, Provider
from tests.server import RunningServer

FORM = re.compile(r'<form[^>]*action="([^"]+)"', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
async def browser(app: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as client:
        yield client


async def tamper(provider: Provider, mode: str | None) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{provider.issuer}/__test/tamper", json={"mode": mode})
        assert response.status_code == 204


async def to_callback(browser: httpx.AsyncClient, login: str) -> str:
    """Start at /login and go through the provider's pages (log in, consent) like a
    browser, up to the redirect back to us; returns that callback's path and query."""
    response = await browser.get(f"{API}/auth/oidc/test/login")
    assert response.status_code == 302, response.text
    url = response.headers["location"]
    assert url.startswith(f"{browser.base_url.host}") is False  # it leaves us for the provider
    for _ in range(20):
        if url.startswith(PUBLIC):
            parts = urlsplit(url)
            return f"{parts.path}?{parts.query}"
        response = await browser.get(url)
        if response.is_redirect:
            url = urljoin(url, response.headers["location"])
            continue
        assert response.status_code == 200, response.text
        action = FORM.search(response.text)
        assert action is not None, response.text
        fields = dict(HIDDEN.findall(response.text))
        if 'name="login"' in response.text:
            fields.update(login=login, password="any")
        response = await browser.post(urljoin(url, action.group(1)), data=fields)
        assert response.is_redirect, response.text
        url = urljoin(url, response.headers["location"])
    raise AssertionError("never came back from the provider")


async def sign_in(browser: httpx.AsyncClient, login: str) -> httpx.Response:
    return await browser.get(await to_callback(browser, login))


async def assert_no_session(browser: httpx.AsyncClient, response: httpx.Response) -> None:
    assert "session" not in response.cookies
    assert_problem(await browser.get(f"{API}/auth/me"), 401)


async def test_providers_are_listed(browser: httpx.AsyncClient) -> None:
    response = await browser.get(f"{API}/auth/providers")
    assert response.json() == [{"name": "test", "display_name": "Test ID"}]
    assert_problem(await browser.get(f"{API}/auth/oidc/nope/login"), 404)


async def test_sign_in_creates_an_account_then_finds_it_again(
    app: RunningServer, browser: httpx.AsyncClient
) -> None:
    email = unique_email("oidc")
    response = await sign_in(browser, email)
    assert response.status_code == 302, response.text
    assert response.headers["location"] == "/"
    me = (await browser.get(f"{API}/auth/me")).json()
    assert (me["email"], me["email_verified"]) == (email, True)
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as again:
        assert (await sign_in(again, email)).status_code == 302
        assert (await again.get(f"{API}/auth/me")).json()["id"] == me["id"]


async def test_a_verified_email_links_the_existing_account(
    app: RunningServer, browser: httpx.AsyncClient
) -> None:
    async with ApiClient(base_url=app.base_url, timeout=30) as registered:
        user = await registered.register()
    response = await sign_in(browser, registered.email)
    assert response.status_code == 302
    me = (await browser.get(f"{API}/auth/me")).json()
    assert (me["id"], me["email_verified"]) == (user["id"], True)
    async with ApiClient(base_url=app.base_url, timeout=30) as password_login:
        await password_login.login(registered.email, PASSWORD)  # the password still works


async def test_an_unverified_provider_email_never_takes_over_an_account(
    app: RunningServer, browser: httpx.AsyncClient
) -> None:
    async with ApiClient(base_url=app.base_url, timeout=30) as victim:
        await victim.register()
    response = await sign_in(browser, f"unverified+{victim.email}")
    assert assert_problem(response, 409)["code"] == "account_exists"
    await assert_no_session(browser, response)
    # With no account to take, it makes a new one, unverified (a new browser: the
    # provider would otherwise remember who signed in there).
    fresh = unique_email("fresh")
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as other:
        assert (await sign_in(other, f"unverified+{fresh}")).status_code == 302
        me = (await other.get(f"{API}/auth/me")).json()
    assert (me["email"], me["email_verified"]) == (fresh, False)


async def test_a_wrong_or_replayed_state_is_refused(
    app: RunningServer, browser: httpx.AsyncClient
) -> None:
    callback = await to_callback(browser, unique_email("state"))
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    response = await browser.get(forged)
    assert assert_problem(response, 400)["code"] == "invalid_state"
    await assert_no_session(browser, response)
    # The right state from another browser (no state cookie): a login CSRF attempt.
    async with httpx.AsyncClient(base_url=app.base_url, timeout=30) as other:
        response = await other.get(callback)
        assert_problem(response, 400)
        await assert_no_session(other, response)
    assert (await browser.get(callback)).status_code == 302  # the real one still works
    replay = await browser.get(callback)
    assert assert_problem(replay, 400)["code"] == "invalid_state"


@pytest.mark.parametrize("mode", ["nonce", "aud", "signature", "expired"])
async def test_a_bad_id_token_is_refused(
    provider: Provider, browser: httpx.AsyncClient, mode: str
) -> None:
    await tamper(provider, mode)
    try:
        response = await sign_in(browser, unique_email(mode))
    finally:
        await tamper(provider, None)
    assert assert_problem(response, 400)["code"] == "oidc_failed", mode
    await assert_no_session(browser, response)
