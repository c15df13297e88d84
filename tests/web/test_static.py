"""The board's files are served at `/` with a strict CSP, and never shadow the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import taskmanager.web
from tests.helpers import ApiClient

PAGES = [
    "/",
    "/index.html",
    "/app.js",
    "/api.js",
    "/account.js",
    "/live.js",
    "/board.js",
    "/presence.js",
    "/styles.css",
    # The pages mails link to are the board itself (it reads the token from the fragment).
    "/reset-password",
    "/verify-email",
    "/invitations",
]


@pytest.mark.parametrize("path", PAGES)
async def test_board_files_have_a_strict_csp(client: ApiClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self';" in csp
    assert "connect-src 'self' ws: wss:" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_index_has_no_inline_script_or_style(client: ApiClient) -> None:
    html = (await client.get("/")).text
    assert '<script type="module" src="/app.js"></script>' in html
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert 'id="connection-state"' in html


async def test_api_paths_keep_their_problem_responses(client: ApiClient) -> None:
    missing = await client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.headers["content-security-policy"].startswith("default-src 'none'")
    wrong_method = await client.put("/api/v1/auth/me")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET"
    assert (await client.get("/no-such-file.js")).status_code == 404


def test_the_service_worker_caches_every_board_module() -> None:
    """A module missing from sw.js's list would break the first reload offline."""
    static = Path(taskmanager.web.__file__).parent / "static"
    shell = set(re.findall(r"'(/[\w.-]*)'", (static / "sw.js").read_text()))
    files = {f"/{p.name}" for p in static.iterdir() if p.suffix in {".js", ".css"}}
    assert files - {"/sw.js"} <= shell
    assert "/" in shell


async def test_the_service_worker_is_served_at_the_root(client: ApiClient) -> None:
    response = await client.get("/sw.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"  # a new version is picked up
