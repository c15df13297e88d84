"""X-Forwarded-For counts only from FORWARDED_ALLOW_IPS: rotating it cannot dodge a throttle."""

from __future__ import annotations

import pytest

from tests.conftest import StartServer
from tests.helpers import ApiClient, assert_problem

LOGIN = "/api/v1/auth/login"


@pytest.mark.parametrize("proxies", [[], ["10.0.0.0/8"]], ids=["default-none", "other-proxy"])
async def test_rotating_forwarded_for_does_not_reset_the_login_throttle(
    start_server: StartServer, proxies: list[str]
) -> None:
    running = await start_server(forwarded_allow_ips=proxies, login_max_failures_per_minute=3)
    async with ApiClient(base_url=running.base_url) as c:
        await c.register()
        bad = {"email": c.email, "password": "guess guess"}
        for i in range(3):
            headers = {"X-Forwarded-For": f"203.0.113.{i}"}
            assert_problem(await c.post(LOGIN, json=bad, headers=headers), 401)
        blocked = await c.post(LOGIN, json=bad, headers={"X-Forwarded-For": "198.51.100.99"})
        assert_problem(blocked, 429)
        sessions = (await c.get("/api/v1/auth/sessions")).json()
        assert [s["ip"] for s in sessions] == ["127.0.0.1"]  # the peer, not a forged header


async def test_a_trusted_proxy_names_the_client(start_server: StartServer) -> None:
    running = await start_server(forwarded_allow_ips=["127.0.0.0/8"])
    async with ApiClient(base_url=running.base_url) as c:
        c.headers["X-Forwarded-For"] = "198.51.100.23"
        await c.register()
        sessions = (await c.get("/api/v1/auth/sessions")).json()
        assert [s["ip"] for s in sessions] == ["198.51.100.23"]
