"""A real OpenID Provider (npm's oidc-provider under Node.js) and a server configured to
sign in with it. `make test` installs the provider (`npm ci` in tests/oidc/provider)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from taskmanager.config import Settings
from tests import backends
from tests.processes import free_port
from tests.server import RunningServer, run_server

PROVIDER_DIR = Path(__file__).parent / "provider"
PUBLIC = "http://tm.test"  # the browser never goes there: the tests carry the redirect over
CALLBACK = f"{PUBLIC}/api/v1/auth/oidc/test/callback"
CLIENT_SECRET = "test-client-secret-0123456789"


@dataclass(frozen=True)
class Provider:
    issuer: str


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[Provider]:
    async with running_provider(CALLBACK) as running:
        yield running


@asynccontextmanager
async def running_provider(callback: str) -> AsyncIterator[Provider]:
    """npm's oidc-provider on a free port, accepting `callback` as the redirect URI; the
    test is skipped (failed in CI) when Node.js or the installed package is missing."""
    node = shutil.which("node")
    installed = (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir()
    if node is None or not installed:
        reason = "OIDC tests need Node.js 20+ and `make oidc-provider` (npm ci)"
        if backends.IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        node,
        str(PROVIDER_DIR / "provider.mjs"),
        str(port),
        callback,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert line.strip() == b"ready", line
        yield Provider(issuer=f"http://127.0.0.1:{port}")
    finally:
        with suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


def providers_setting(provider: Provider) -> list[dict[str, Any]]:
    """OIDC_PROVIDERS naming the test provider, as "test" ("Test ID")."""
    return [
        {
            "name": "test",
            "display_name": "Test ID",
            "issuer": provider.issuer,
            "client_id": "taskmanager",
            "client_secret": CLIENT_SECRET,
            "scopes": ["openid", "email", "profile"],
        }
    ]


@pytest.fixture(scope="module")
async def app(
    provider: Provider, make_settings: Callable[..., Settings], migrated: None
) -> AsyncIterator[RunningServer]:
    settings = make_settings(public_base_url=PUBLIC, oidc_providers=providers_setting(provider))
    async with run_server(settings) as running:
        yield running
