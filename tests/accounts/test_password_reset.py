"""Password reset through real SMTP: same answer for any e-mail, one-time links, throttles."""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
from collections.abc import Callable

from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from taskmanager.accounts.models import EmailToken
from taskmanager.jobs.models import Job
from tests.accounts.conftest import PUBLIC
from tests.helpers import API, PASSWORD, ApiClient, assert_problem, unique_email
from tests.mailbox import Mailbox, link_token, text_body
from tests.server import RunningServer

NEW_PASSWORD = "an entirely new passphrase 9"
RESET = f"{API}/auth/password-reset"
CONFIRM = f"{API}/auth/password-reset/confirm"


async def _request(client: ApiClient, email: str) -> None:
    response = await client.post(RESET, json={"email": email})
    assert response.status_code == 202, response.text
    assert response.json() == {}


async def _reset_token(mailbox: Mailbox, email: str, *, count: int = 1) -> str:
    message = await mailbox.wait_for(email, "reset your password", count=count)
    page, token = link_token(message)
    assert page == f"{PUBLIC}/reset-password"  # from PUBLIC_BASE_URL, not the Host header
    return token


async def test_the_answer_is_the_same_for_known_and_unknown_emails(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    anonymous = new_client()
    known: list[float] = []
    unknown: list[float] = []
    for _ in range(3):
        for email, times in ((user.email, known), (unique_email("nobody"), unknown)):
            started = time.perf_counter()
            response = await anonymous.post(RESET, json={"email": email})
            times.append(time.perf_counter() - started)
            assert (response.status_code, response.content) == (202, b"{}")
    # Both do the same work (a throttle count and a queued job); nothing to tell them by.
    assert abs(statistics.median(known) - statistics.median(unknown)) < 0.1
    # (Three requests at once: the worker may run them together, and only the newest
    # request's job mails a link; at least one does.)
    await _reset_token(mailbox, user.email)
    assert mailbox.to("nobody") == []


async def test_reset_sets_the_password_ends_sessions_and_mails_a_notice(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    other_device = new_client()
    await other_device.login(user.email)
    await _request(new_client(), user.email)
    token = await _reset_token(mailbox, user.email)

    response = await new_client().post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.text
    assert "set-cookie" not in response.headers  # no auto-login
    for client in (user, other_device):
        assert_problem(await client.get(f"{API}/auth/me"), 401)
    notice = await mailbox.wait_for(user.email, "password was changed")
    assert "signed out" in text_body(notice)
    fresh = new_client()
    bad = await fresh.post(f"{API}/auth/login", json={"email": user.email, "password": PASSWORD})
    assert_problem(bad, 401)
    me = await fresh.login(user.email, NEW_PASSWORD)
    assert me["email_verified"] is True  # the link proved the address

    # The link works once.
    again = await new_client().post(
        CONFIRM, json={"token": token, "new_password": "yet another one 5"}
    )
    assert assert_problem(again, 400)["code"] == "invalid_token"


async def test_bad_tampered_and_expired_tokens_are_invalid(
    app: RunningServer, new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    await _request(user, user.email)
    token = await _reset_token(mailbox, user.email)
    anonymous = new_client()
    for bad in ("nonsense", token[:-1] + ("A" if token[-1] != "A" else "B"), token + "x"):
        response = await anonymous.post(CONFIRM, json={"token": bad, "new_password": NEW_PASSWORD})
        assert assert_problem(response, 400)["code"] == "invalid_token"
    async with app.resources.session_factory() as db:
        await db.execute(
            update(EmailToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        await db.commit()
    response = await anonymous.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert assert_problem(response, 400)["code"] == "invalid_token"
    await user.login(user.email)  # the password did not change


async def test_a_newer_request_voids_the_older_link(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    await _request(user, user.email)
    first = await _reset_token(mailbox, user.email)
    await _request(user, user.email)
    second = await _reset_token(mailbox, user.email, count=2)
    assert first != second
    anonymous = new_client()
    old = await anonymous.post(CONFIRM, json={"token": first, "new_password": NEW_PASSWORD})
    assert assert_problem(old, 400)["code"] == "invalid_token"
    new = await anonymous.post(CONFIRM, json={"token": second, "new_password": NEW_PASSWORD})
    assert new.status_code == 204


async def test_a_weak_password_is_refused_and_the_link_stays_usable(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    await _request(user, user.email)
    token = await _reset_token(mailbox, user.email)
    weak = await user.post(CONFIRM, json={"token": token, "new_password": "password"})
    assert_problem(weak, 422, field="new_password")
    short = await user.post(CONFIRM, json={"token": token, "new_password": "short"})
    assert_problem(short, 422, field="new_password")
    ok = await user.post(CONFIRM, json={"token": token, "new_password": NEW_PASSWORD})
    assert ok.status_code == 204


async def test_requests_are_throttled_per_email(new_client: Callable[[], ApiClient]) -> None:
    anonymous = new_client()
    email = unique_email("throttled")
    for _ in range(4):
        await _request(anonymous, email)
    response = await anonymous.post(RESET, json={"email": email.upper()})
    assert_problem(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    await _request(anonymous, unique_email("other"))  # another address is not held up


async def test_bad_input_is_a_clear_error(new_client: Callable[[], ApiClient]) -> None:
    anonymous = new_client()
    assert_problem(await anonymous.post(RESET, json={"email": "not an e-mail"}), 422, field="email")
    assert_problem(await anonymous.post(RESET, json={}), 422, field="email")
    assert_problem(await anonymous.post(CONFIRM, json={"token": "x"}), 422, field="new_password")
    bad = await anonymous.post(CONFIRM, content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(bad, 400)


async def test_a_down_mail_server_fails_no_request_and_the_mail_comes_later(
    app: RunningServer,
    smtp: tuple[Mailbox, int],
    new_client: Callable[[], ApiClient],
) -> None:
    mailbox, port = smtp
    user = new_client()
    await user.register()
    await mailbox.wait_for(user.email, "confirm")
    assert mailbox.controller is not None
    mailbox.controller.stop()
    try:
        await _request(user, user.email)  # 202 although the mail server is down
        await _wait_for_failed_attempt(app)
    finally:
        # The same mailbox, listening again on the same port.
        mailbox.controller = Controller(mailbox.controller.handler, hostname="127.0.0.1", port=port)
        mailbox.controller.start()
    async with app.resources.session_factory() as db:
        await db.execute(update(Job).values(run_at=dt.datetime.now(dt.UTC)))
        await db.commit()
    await _reset_token(mailbox, user.email)


async def _wait_for_failed_attempt(app: RunningServer) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        async with app.resources.session_factory() as db:
            errors = (await db.scalars(select(Job.last_error))).all()
        if any(errors):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the mail job never failed")
