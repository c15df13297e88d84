"""CSRF on cookie-authenticated writes, and the password change that rotates every session."""

from __future__ import annotations

from collections.abc import Callable

from tests.helpers import PASSWORD, ApiClient, assert_problem

NEW_PASSWORD = "another sturdy passphrase 7"


async def test_csrf_missing_wrong_right(client: ApiClient) -> None:
    await client.register()
    token = client.headers.pop("X-CSRF-Token")
    body = {"name": "ci"}
    assert_problem(await client.post("/api/v1/auth/tokens", json=body), 403)
    wrong = await client.post("/api/v1/auth/tokens", json=body, headers={"X-CSRF-Token": "nope"})
    assert_problem(wrong, 403)
    listed = await client.get("/api/v1/auth/tokens")  # safe methods need no CSRF token
    assert listed.status_code == 200 and listed.json() == []
    right = await client.post("/api/v1/auth/tokens", json=body, headers={"X-CSRF-Token": token})
    assert right.status_code == 201


async def test_csrf_token_of_another_session_is_refused(
    make_client: Callable[[], ApiClient],
) -> None:
    alice, mallory = make_client(), make_client()
    await alice.register()
    await mallory.register()
    forged = await alice.post(
        "/api/v1/auth/logout", headers={"X-CSRF-Token": mallory.headers["X-CSRF-Token"]}
    )
    assert_problem(forged, 403)
    assert (await alice.get("/api/v1/auth/me")).status_code == 200


async def test_password_change_rotates_and_ends_other_sessions(
    make_client: Callable[[], ApiClient],
) -> None:
    laptop, phone = make_client(), make_client()
    await laptop.register()
    await phone.login(laptop.email)
    old_cookie = laptop.cookies.get("session")
    response = await laptop.patch(
        "/api/v1/auth/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    laptop.remember_login(response)
    assert laptop.cookies.get("session") != old_cookie
    assert (await laptop.get("/api/v1/auth/me")).status_code == 200
    assert_problem(await phone.get("/api/v1/auth/me"), 401)
    async with ApiClient(
        base_url=str(laptop.base_url), cookies={"session": str(old_cookie)}
    ) as stale:
        assert_problem(await stale.get("/api/v1/auth/me"), 401)
    fresh = make_client()
    assert_problem(
        await fresh.post("/api/v1/auth/login", json={"email": laptop.email, "password": PASSWORD}),
        401,
    )
    await fresh.login(laptop.email, NEW_PASSWORD)


async def test_password_change_failures_change_nothing(client: ApiClient) -> None:
    await client.register()
    wrong = await client.patch(
        "/api/v1/auth/me/password",
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert_problem(wrong, 422, field="current_password")
    weak = await client.patch(
        "/api/v1/auth/me/password", json={"current_password": PASSWORD, "new_password": "12345678"}
    )
    assert_problem(weak, 422, field="new_password")
    short = await client.patch(
        "/api/v1/auth/me/password", json={"current_password": PASSWORD, "new_password": "short"}
    )
    assert_problem(short, 422, field="new_password")
    # Still logged in with the old password intact.
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    async with ApiClient(base_url=str(client.base_url)) as other:
        await other.login(client.email, PASSWORD)
