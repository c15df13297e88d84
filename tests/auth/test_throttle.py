"""Login throttling: 429 with Retry-After, per account+address, per account, never forever."""

from __future__ import annotations

from tests.conftest import StartServer
from tests.helpers import PASSWORD, ApiClient, assert_problem

LOGIN = "/api/v1/auth/login"


def _from(address: str) -> dict[str, str]:
    # The test server trusts X-Forwarded-For from 127.0.0.1, as behind a local proxy.
    return {"X-Forwarded-For": address}


async def test_failures_from_one_address_block_that_address_only(start_server: StartServer) -> None:
    running = await start_server(login_max_failures_per_minute=3)
    async with (
        ApiClient(base_url=running.base_url) as victim,
        ApiClient(base_url=running.base_url) as attacker,
    ):
        await victim.register()
        for _ in range(3):
            bad = {"email": victim.email, "password": "guess guess"}
            assert_problem(await attacker.post(LOGIN, json=bad, headers=_from("203.0.113.9")), 401)
        blocked = await attacker.post(
            LOGIN,
            json={"email": victim.email, "password": "guess again"},
            headers=_from("203.0.113.9"),
        )
        assert_problem(blocked, 429)
        assert 0 < int(blocked.headers["Retry-After"]) <= 60
        # Even the right password is refused from the throttled address...
        right_from_attacker = await attacker.post(
            LOGIN, json={"email": victim.email, "password": PASSWORD}, headers=_from("203.0.113.9")
        )
        assert_problem(right_from_attacker, 429)
        # ...but the owner, elsewhere, still gets in.
        ok = await victim.post(
            LOGIN, json={"email": victim.email, "password": PASSWORD}, headers=_from("198.51.100.7")
        )
        assert ok.status_code == 200


async def test_account_window_blocks_all_addresses_for_a_bounded_time(
    start_server: StartServer,
) -> None:
    running = await start_server(login_max_failures_per_hour=4, login_max_failures_per_minute=10)
    async with ApiClient(base_url=running.base_url) as c:
        await c.register()
        for i in range(4):
            bad = {"email": c.email, "password": "guess guess"}
            assert_problem(await c.post(LOGIN, json=bad, headers=_from(f"203.0.113.{i}")), 401)
        blocked = await c.post(
            LOGIN, json={"email": c.email, "password": PASSWORD}, headers=_from("198.51.100.7")
        )
        assert_problem(blocked, 429)
        assert 0 < int(blocked.headers["Retry-After"]) <= 3600


async def test_per_address_limit_across_accounts(start_server: StartServer) -> None:
    running = await start_server(login_max_failures_per_ip_per_minute=3)
    async with ApiClient(base_url=running.base_url) as c:
        for i in range(3):
            bad = {"email": f"nobody{i}@example.com", "password": "guess guess"}
            assert_problem(await c.post(LOGIN, json=bad, headers=_from("203.0.113.50")), 401)
        spray = {"email": "someone@example.com", "password": "guess guess"}
        assert_problem(await c.post(LOGIN, json=spray, headers=_from("203.0.113.50")), 429)
