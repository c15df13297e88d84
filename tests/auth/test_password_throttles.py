"""Every endpoint that checks a password is throttled like login, and registration per
address; whitespace-only passwords are refused."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import StartServer
from tests.helpers import PASSWORD, ApiClient, assert_problem, unique_email
from tests.server import RunningServer

AUTH = "/api/v1/auth"
ATTACKER = {"X-Forwarded-For": "203.0.113.77"}
ELSEWHERE = {"X-Forwarded-For": "198.51.100.8"}


async def _login(client: ApiClient, password: str, headers: dict[str, str]) -> httpx.Response:
    return await client.post(
        f"{AUTH}/login", json={"email": client.email, "password": password}, headers=headers
    )


async def _change(client: ApiClient, password: str, headers: dict[str, str]) -> httpx.Response:
    body = {"current_password": password, "new_password": "a brand new passphrase 99"}
    return await client.patch(f"{AUTH}/me/password", json=body, headers=headers)


async def _change_email(
    client: ApiClient, password: str, headers: dict[str, str]
) -> httpx.Response:
    body = {"new_email": unique_email(), "password": password}
    return await client.post(f"{AUTH}/me/email", json=body, headers=headers)


async def _delete(client: ApiClient, password: str, headers: dict[str, str]) -> httpx.Response:
    return await client.request(
        "DELETE", f"{AUTH}/me", json={"password": password}, headers=headers
    )


# Operation -> a call that presents `password` as the account's current password.
CHECKS: dict[str, Callable[[ApiClient, str, dict[str, str]], Awaitable[httpx.Response]]] = {
    "POST /api/v1/auth/login": _login,
    "PATCH /api/v1/auth/me/password": _change,
    "POST /api/v1/auth/me/email": _change_email,
    "DELETE /api/v1/auth/me": _delete,
}
# Body fields that carry a password the server checks (not one being chosen).
CHECKED_FIELDS = {"password", "current_password"}


def _password_checking_operations(spec: dict[str, Any]) -> set[str]:
    found = set()
    schemas = spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            ref = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
                .get("$ref", "")
            )
            fields = schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            if CHECKED_FIELDS & fields.keys() and not path.endswith("/register"):
                found.add(f"{method.upper()} {path}")
    return found


async def test_every_password_checking_operation_is_covered(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as c:
        spec = (await c.get("/openapi.json")).json()
    assert _password_checking_operations(spec) == CHECKS.keys()


@pytest.mark.parametrize("operation", CHECKS)
async def test_wrong_passwords_are_throttled_per_account_and_address(
    start_server: StartServer, operation: str
) -> None:
    check = CHECKS[operation]
    running = await start_server(login_max_failures_per_minute=3)
    async with ApiClient(base_url=running.base_url) as client:
        await client.register()
        for _ in range(3):
            response = await check(client, "not the password", ATTACKER)
            assert response.status_code in (401, 422), response.text
        blocked = await check(client, "still not it", ATTACKER)
        assert_problem(blocked, 429)
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        # The right password is refused too from there: a 429 says nothing about a guess.
        assert_problem(await check(client, PASSWORD, ATTACKER), 429)
        # From elsewhere the account still works, with the password it always had.
        ok = await check(client, PASSWORD, ELSEWHERE)
        assert ok.status_code in (200, 202, 204), ok.text


async def test_password_change_and_login_share_one_budget(start_server: StartServer) -> None:
    running = await start_server(login_max_failures_per_minute=4)
    async with ApiClient(base_url=running.base_url) as client:
        await client.register()
        for check in (_change, _login, _change, _login):
            assert (await check(client, "wrong", ATTACKER)).status_code in (401, 422)
        assert_problem(await _login(client, PASSWORD, ATTACKER), 429)
        assert_problem(await _change(client, PASSWORD, ATTACKER), 429)


async def test_registration_is_limited_per_address(start_server: StartServer) -> None:
    running = await start_server(register_max_per_ip_per_minute=3)
    async with ApiClient(base_url=running.base_url) as c:

        async def register(headers: dict[str, str]) -> httpx.Response:
            body = {"email": unique_email(), "password": PASSWORD, "display_name": "Flood"}
            return await c.post(f"{AUTH}/register", json=body, headers=headers)

        responses = await asyncio.gather(*(register(ATTACKER) for _ in range(8)))
        assert sorted(r.status_code for r in responses) == [201] * 3 + [429] * 5
        for refused in (r for r in responses if r.status_code == 429):
            assert_problem(refused, 429)
            assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert (await register(ELSEWHERE)).status_code == 201


@pytest.mark.parametrize("blank", [" " * 12, "\t\n" * 8, "\u3000" * 12, " \u00a0" * 6])
async def test_whitespace_only_passwords_are_refused(
    make_client: Callable[[], ApiClient], blank: str
) -> None:
    client = make_client()
    email = unique_email()
    body = {"email": email, "password": blank, "display_name": "Blank"}
    assert_problem(await client.post(f"{AUTH}/register", json=body), 422, field="password")
    login = await client.post(f"{AUTH}/login", json={"email": email, "password": blank})
    assert_problem(login, 401)  # no such account was made
    await client.register()
    change = {"current_password": PASSWORD, "new_password": blank}
    response = await client.patch(f"{AUTH}/me/password", json=change)
    assert_problem(response, 422, field="new_password")
    assert (await client.get(f"{AUTH}/me")).status_code == 200  # session not rotated
    assert (
        await client.post(f"{AUTH}/login", json={"email": client.email, "password": PASSWORD})
    ).status_code == 200
