"""GET/PUT /auth/me/notification-settings and the one-click unsubscribe link (RFC 8058)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from taskmanager.notifications.kinds import NotificationKind as K
from tests.helpers import API, ApiClient, assert_problem
from tests.mailbox import Mailbox, text_body
from tests.notifications.emails.conftest import PUBLIC, Scene
from tests.notifications.emails.email_helpers import unsubscribe_url, wait_for_mails
from tests.server import RunningServer

SETTINGS = f"{API}/auth/me/notification-settings"
DEFAULTS = {
    "assigned": True,
    "mentioned": True,
    "commented": False,
    "due_soon": True,
    "reminder": True,
    "invited": True,
    "webhook_disabled": True,
}
Recipient = Callable[..., Any]


async def test_defaults_and_put_replaces_the_whole_choice(recipient: Recipient) -> None:
    ann: ApiClient = await recipient()
    got = await ann.get(SETTINGS)
    assert (got.status_code, got.json()) == (200, {"email": DEFAULTS, "digest": "off"})
    put = await ann.put(
        SETTINGS, json={"email": {"commented": True, "due_soon": False}, "digest": "daily"}
    )
    expected = {"email": DEFAULTS | {"commented": True, "due_soon": False}, "digest": "daily"}
    assert (put.status_code, put.json()) == (200, expected)
    assert (await ann.get(SETTINGS)).json() == expected
    # PUT replaces: what the body leaves out is back to its default.
    put = await ann.put(SETTINGS, json={"email": {"assigned": False}})
    assert put.json() == {"email": DEFAULTS | {"assigned": False}, "digest": "off"}
    assert (await ann.put(SETTINGS, json={})).json() == {"email": DEFAULTS, "digest": "off"}


async def test_bad_settings_are_422_at_the_field(recipient: Recipient) -> None:
    ann: ApiClient = await recipient()
    assert_problem(await ann.put(SETTINGS, json={"email": {"pigeon": True}}), 422, field="email")
    assert_problem(await ann.put(SETTINGS, json={"digest": "weekly"}), 422, field="digest")
    assert_problem(await ann.put(SETTINGS, json={"email": {"assigned": "x"}}), 422, field="email")
    assert_problem(await ann.put(SETTINGS, json={"sms": True}), 422, field="sms")
    assert (await ann.get(SETTINGS)).json() == {"email": DEFAULTS, "digest": "off"}


async def test_settings_need_a_caller_and_csrf(app: RunningServer, recipient: Recipient) -> None:
    async with httpx.AsyncClient(base_url=app.base_url) as anonymous:
        assert_problem(await anonymous.get(SETTINGS), 401)
        assert_problem(await anonymous.put(SETTINGS, json={}), 401)
    ann: ApiClient = await recipient()
    no_csrf = await ann.put(SETTINGS, json={}, headers={"X-CSRF-Token": ""})
    assert_problem(no_csrf, 403)


async def test_one_click_unsubscribe_turns_off_that_kind_without_a_session(
    app: RunningServer, scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    bea: ApiClient = await recipient()
    await scene.notify((bea, K.ASSIGNED))
    (mail,) = await wait_for_mails(mailbox, bea.email, 1)
    assert unsubscribe_url(mail) in text_body(mail)  # also offered as a link in the mail
    url = unsubscribe_url(mail).removeprefix(PUBLIC)
    async with httpx.AsyncClient(base_url=app.base_url) as anonymous:
        # A GET (a mail scanner, a browser opening the link) shows, and changes nothing.
        preview = await anonymous.get(url)
        assert preview.status_code == 200
        assert preview.json()["kind"] == "assigned"
        assert preview.json()["unsubscribed"] is False
        page = await anonymous.get(url, headers={"Accept": "text/html"})
        assert page.headers["content-type"].startswith("text/html")
        assert "<form method=post" in page.text and "assigned" in page.text
        assert (await bea.get(SETTINGS)).json()["email"]["assigned"] is True
        # What a mail client sends (RFC 8058): a form POST, no cookie, no CSRF header.
        done = await anonymous.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert done.status_code == 204, done.text
        # Once more (a client retrying) is fine too.
        assert (await anonymous.post(url)).status_code == 204
        # A browser that pressed the page's button gets a page back.
        browser = await anonymous.post(url, headers={"Accept": "text/html"})
        assert browser.status_code == 200 and "Unsubscribed" in browser.text
    assert (await bea.get(SETTINGS)).json() == {
        "email": DEFAULTS | {"assigned": False},
        "digest": "off",
    }


async def test_a_mixed_mail_unsubscribes_from_everything(
    app: RunningServer, scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    cid: ApiClient = await recipient()
    await cid.put(SETTINGS, json={"email": {"commented": True}})
    await scene.notify((cid, K.ASSIGNED), (cid, K.COMMENTED))
    (mail,) = await wait_for_mails(mailbox, cid.email, 1)
    assert "Stop all notification mails" in text_body(mail)
    url = unsubscribe_url(mail).removeprefix(PUBLIC)
    async with httpx.AsyncClient(base_url=app.base_url) as anonymous:
        assert (await anonymous.get(url)).json()["kind"] is None
        assert (await anonymous.post(url)).status_code == 204
    assert (await cid.get(SETTINGS)).json() == {
        "email": dict.fromkeys(DEFAULTS, False),
        "digest": "off",
    }


async def test_a_tampered_or_missing_token_is_refused(
    app: RunningServer, scene: Scene, recipient: Recipient, mailbox: Mailbox
) -> None:
    dee: ApiClient = await recipient()
    other: ApiClient = await recipient()
    await scene.notify((dee, K.MENTIONED))
    (mail,) = await wait_for_mails(mailbox, dee.email, 1)
    url = unsubscribe_url(mail).removeprefix(PUBLIC)
    base, _, token = url.partition("?token=")
    user_hex, kind, tag = token.split(".")
    other_hex = other.user["id"].replace("-", "")
    tampered = [
        f"{user_hex}.all.{tag}",  # widened to every kind
        f"{other_hex}.{kind}.{tag}",  # someone else's mails
        f"{user_hex}.{kind}.{tag[:-2]}xx",
        f"{user_hex}.{kind}",
        "garbage",
    ]
    async with httpx.AsyncClient(base_url=app.base_url) as anonymous:
        for bad in tampered:
            for method in ("GET", "POST"):
                response = await anonymous.request(method, base, params={"token": bad})
                assert assert_problem(response, 400)["code"] == "invalid_token", bad
        assert_problem(await anonymous.post(base), 422, field="token")
        assert_problem(await anonymous.get(base), 422, field="token")
        # A JSON body is no way around the token either; and nothing but JSON or a form is read.
        xml = await anonymous.post(url, content=b"<x/>", headers={"Content-Type": "text/xml"})
        assert_problem(xml, 415)
    for user in (dee, other):
        assert (await user.get(SETTINGS)).json() == {"email": DEFAULTS, "digest": "off"}
