"""E-mail verification at registration and for an e-mail change, through real SMTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import update

from taskmanager.accounts.models import EmailToken
from tests.accounts.conftest import PUBLIC
from tests.helpers import API, PASSWORD, ApiClient, assert_problem, unique_email
from tests.mailbox import Mailbox, link_token, text_body
from tests.server import RunningServer

VERIFY = f"{API}/auth/verify-email"


async def _verify_token(mailbox: Mailbox, email: str, *, count: int = 1) -> str:
    page, token = link_token(await mailbox.wait_for(email, "confirm", count=count))
    assert page == f"{PUBLIC}/verify-email"
    return token


async def test_registration_mails_a_link_that_verifies_the_email(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    registered = await user.register()
    assert registered["email_verified"] is False
    token = await _verify_token(mailbox, user.email)
    # The link may be opened anywhere: no session needed.
    assert (await new_client().post(VERIFY, json={"token": token})).status_code == 204
    assert (await user.get(f"{API}/auth/me")).json()["email_verified"] is True
    again = await new_client().post(VERIFY, json={"token": token})
    assert assert_problem(again, 400)["code"] == "invalid_token"


async def test_resend_mails_a_new_link_and_voids_the_old_one(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    first = await _verify_token(mailbox, user.email)
    response = await user.post(f"{API}/auth/verify-email/resend")
    assert (response.status_code, response.json()) == (202, {})
    second = await _verify_token(mailbox, user.email, count=2)
    old = await user.post(VERIFY, json={"token": first})
    assert assert_problem(old, 400)["code"] == "invalid_token"
    assert (await user.post(VERIFY, json={"token": second})).status_code == 204
    # Verified: a resend sends nothing more.
    assert (await user.post(f"{API}/auth/verify-email/resend")).status_code == 202
    assert_problem(await new_client().post(f"{API}/auth/verify-email/resend"), 401)


async def test_an_expired_or_bad_link_is_invalid(
    app: RunningServer, new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    token = await _verify_token(mailbox, user.email)
    async with app.resources.session_factory() as db:
        await db.execute(
            update(EmailToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
        await db.commit()
    for bad in (token, "garbage", token.upper()):
        response = await user.post(VERIFY, json={"token": bad})
        assert assert_problem(response, 400)["code"] == "invalid_token"
    assert (await user.get(f"{API}/auth/me")).json()["email_verified"] is False
    assert_problem(await user.post(VERIFY, json={"token": ""}), 422, field="token")


async def test_changing_the_email_verifies_the_new_one_and_tells_the_old_one(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user = new_client()
    await user.register()
    old_email, new_email = user.email, unique_email("moved")
    wrong = await user.post(
        f"{API}/auth/me/email", json={"new_email": new_email, "password": "not my password"}
    )
    assert_problem(wrong, 422, field="password")
    response = await user.post(
        f"{API}/auth/me/email", json={"new_email": new_email, "password": PASSWORD}
    )
    assert (response.status_code, response.json()) == (202, {})
    notice = await mailbox.wait_for(old_email, "about to change")
    assert new_email in text_body(notice)
    token = await _verify_token(mailbox, new_email)
    assert (await user.get(f"{API}/auth/me")).json()["email"] == old_email  # not yet
    assert (await user.post(VERIFY, json={"token": token})).status_code == 204
    me = (await user.get(f"{API}/auth/me")).json()
    assert (me["email"], me["email_verified"]) == (new_email, True)
    await new_client().login(new_email)
    response = await new_client().post(
        f"{API}/auth/login", json={"email": old_email, "password": PASSWORD}
    )
    assert_problem(response, 401)


async def test_an_email_of_another_account_cannot_be_taken(
    new_client: Callable[[], ApiClient], mailbox: Mailbox
) -> None:
    user, other = new_client(), new_client()
    await user.register()
    await other.register()
    taken = await user.post(
        f"{API}/auth/me/email", json={"new_email": other.email.upper(), "password": PASSWORD}
    )
    assert assert_problem(taken, 409)["code"] == "email_taken"
    same = await user.post(
        f"{API}/auth/me/email", json={"new_email": user.email, "password": PASSWORD}
    )
    assert_problem(same, 422, field="new_email")
    # Taken between the request and the click: the link then fails with 409.
    wanted = unique_email("race")
    await user.post(f"{API}/auth/me/email", json={"new_email": wanted, "password": PASSWORD})
    token = await _verify_token(mailbox, wanted)
    await new_client().register(wanted)
    late = await user.post(VERIFY, json={"token": token})
    assert assert_problem(late, 409)["code"] == "email_taken"
