"""Security headers on every kind of response (ASVS 5.0 V3.4): nosniff everywhere, a strict
Content-Security-Policy on every HTML page (the board, Swagger UI, ReDoc), no Server banner.

The in-process test server already runs uvicorn without its Server header (like `serve`);
the last test checks the banner on a real `taskmanager serve` process.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from taskmanager.app import create_app
from taskmanager.config import Settings
from tests.helpers import API, ApiClient
from tests.processes import base_env, running_server
from tests.server import run_server

HTML_PAGES = ["/", "/index.html", "/docs", "/redoc", "/docs/oauth2-redirect"]
_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def directives(csp: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def assert_strict_csp(response: httpx.Response) -> None:
    """Scripts only from listed origins or by hash: nothing inline, no eval, no plugins."""
    csp = response.headers.get("content-security-policy")
    assert csp, f"{response.request.url}: HTML without a Content-Security-Policy"
    d = directives(csp)
    scripts = d.get("script-src", d.get("default-src"))
    assert scripts is not None, csp
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, csp
    assert not {"*", "data:", "http:", "https:", "blob:"} & set(scripts), csp
    assert d.get("object-src", d.get("default-src")) == ["'none'"], csp
    assert d.get("frame-ancestors") == ["'none'"], csp
    # Every inline script the page has must be allowed by its hash, or the page breaks.
    for script in _INLINE_SCRIPT.findall(response.text):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in scripts, f"inline script not allowed by {csp}"


@pytest.mark.parametrize("path", HTML_PAGES)
async def test_html_pages_have_a_strict_csp(client: ApiClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert_strict_csp(response)


@pytest.fixture
async def boom_url(migrated: None, make_settings: Callable[..., Settings]) -> AsyncIterator[str]:
    # One failed login per address and minute: the second one is a 429.
    settings = make_settings(login_max_failures_per_ip_per_minute=1)
    app = create_app(settings)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    async with run_server(settings, app=app) as running:
        yield running.base_url


async def test_every_kind_of_response_has_nosniff_and_no_banner(
    client: ApiClient, boom_url: str
) -> None:
    await client.register()
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    responses = [
        await client.get("/health"),
        await client.get("/health/live"),
        await client.get("/metrics"),
        await client.get("/openapi.json"),
        await client.get("/app.js"),
        await client.get("/styles.css"),
        await client.get("/no-such-file.js"),
        await client.get(f"{API}/projects"),
        await client.get(f"{API}/no-such-route"),
        await client.put(f"{API}/auth/me"),
        await client.post(
            f"{API}/projects", content=b"{", headers={"content-type": "application/json"}
        ),
        await client.post(f"{API}/projects", content=b"x", headers={"content-type": "text/plain"}),
        await client.post(f"{API}/projects", json={"name": ""}),
        await client.post(
            f"{API}/projects", content=big, headers={"content-type": "application/json"}
        ),
    ]
    async with httpx.AsyncClient(base_url=boom_url) as other:
        responses.append(await other.get("/api/v1/boom"))
        for _ in range(2):
            bad = {"email": "nobody@example.com", "password": "wrong password"}
            responses.append(await other.post(f"{API}/auth/login", json=bad))
    csrf = client.headers.pop("X-CSRF-Token")
    responses.append(await client.post(f"{API}/projects", json={"name": "no csrf"}))
    client.headers["X-CSRF-Token"] = csrf
    created = await client.post(f"{API}/projects", json={"name": "streamed"})
    responses.append(created)
    async with client.stream("GET", f"{API}/projects/{created.json()['id']}/stream") as stream:
        responses.append(stream)
    async with httpx.AsyncClient(base_url=client.base_url) as anonymous:
        responses.append(await anonymous.get(f"{API}/auth/me"))
    statuses = sorted({r.status_code for r in responses})
    assert statuses == [200, 201, 400, 401, 403, 404, 405, 413, 415, 422, 429, 500], statuses
    for response in responses:
        where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
        assert response.headers.get("x-content-type-options") == "nosniff", where
        assert "server" not in response.headers, where
        assert "x-powered-by" not in response.headers, where
        csp = response.headers.get("content-security-policy", "")
        assert csp, where
        if response.headers.get("content-type", "").startswith("text/html"):
            assert_strict_csp(response)


async def test_real_serve_process_sends_no_server_banner(tmp_path: Path) -> None:
    """`taskmanager serve` configures uvicorn itself: its responses carry no Server header."""
    env = base_env(data_dir=str(tmp_path), log_level="WARNING")
    async with running_server(env) as server, httpx.AsyncClient(base_url=server.base_url) as c:
        responses = [
            await c.get("/health/live"),
            await c.get(f"{API}/auth/me"),
            await c.get("/no-such-file.js"),
            await c.get("/"),
        ]
    for response in responses:
        where = f"{response.request.url.path} -> {response.status_code}"
        assert "server" not in response.headers, where
        assert response.headers.get("x-content-type-options") == "nosniff", where
