"""Browser tests: a real `taskmanager serve` process and Debian's Chromium via Playwright."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Dialog, Page, async_playwright

from taskmanager.config import Settings
from tests import backends
from tests.mailbox import Mailbox, link_token
from tests.processes import migrated_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
TASKMANAGER = str(Path(sys.executable).with_name("taskmanager"))
PASSWORD = "correct horse battery staple"

NO_CHROMIUM = (
    f"browser tests SKIPPED: no Chromium at {CHROMIUM} (apt-get install chromium; "
    ".ci/run installs it)"
)


@pytest.fixture(scope="module", autouse=True)
async def _clean_module() -> None:
    """The browser tests use their own server process, not the in-process test server."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
async def board_backend(backend: backends.Backend) -> AsyncIterator[backends.Backend]:
    """The backend of the boards' `serve` processes. On PostgreSQL a database of their own:
    the run's database is also the in-process test server's, whose job worker would take
    jobs of a board sharing it and run them there (a confirmation mail that make_user waits
    for then lands in that server's outbox, not the board's). Embedded: as it is (each
    board has the SQLite file of its own DATA_DIR)."""
    if backend.database_url is None:
        yield backend
        return
    async with migrated_database() as url:
        yield replace(backend, database_url=url)


@pytest.fixture(scope="module")
def data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tm-web-"))


@pytest.fixture(scope="module")
def outbox(data_dir: Path) -> Mailbox:
    """The server's mail: no SMTP_URL, so .eml files in DATA_DIR/outbox."""
    return Mailbox(outbox=data_dir / "outbox")


@pytest.fixture(scope="module")
async def base_url(board_backend: backends.Backend, data_dir: Path) -> AsyncIterator[str]:
    """`taskmanager serve` on a free port: embedded in a temp dir, or the boards' PostgreSQL
    database."""
    async with serve_board(board_backend, data_dir, _free_port()) as url:
        yield url


@asynccontextmanager
async def serve_board(
    backend: backends.Backend, data_dir: Path, port: int, **settings: str
) -> AsyncIterator[str]:
    """A real `taskmanager serve` on `port`, with extra settings (env names), until exit."""
    known = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in known}
    url = f"http://127.0.0.1:{port}"
    env.update(
        DATA_DIR=str(data_dir),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PUBLIC_BASE_URL=url,
        JOB_POLL_SECONDS="0.2",
        # Every browser test registers its users from 127.0.0.1: lift the per-address
        # limit (tests/auth checks the limit itself).
        REGISTER_MAX_PER_IP_PER_MINUTE="100000",
        **settings,
    )
    if backend.database_url:
        env["DATABASE_URL"] = backend.database_url
    if backend.redis_url:
        env["REDIS_URL"] = backend.redis_url
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [TASKMANAGER, "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient() as client:
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not start:\n{log_path.read_text()[-3000:]}")
                with suppress(httpx.TransportError):
                    if (await client.get(f"{url}/health/live", timeout=1)).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class User:
    """A browser context (own cookie jar) logged in as one user, with one page open."""

    context: BrowserContext
    page: Page
    id: str
    email: str
    name: str
    csrf: str
    errors: list[str]

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A call through the browser's own cookies (as the page would make it)."""
        response = await self.context.request.fetch(
            f"{self.page.url.split('/#')[0].rstrip('/')}/api/v1{path}",
            method=method,
            data=body,
            headers={"X-CSRF-Token": self.csrf},
        )
        assert response.ok, f"{method} {path}: {response.status} {await response.text()}"
        return None if response.status == 204 else await response.json()


MakeUser = Callable[..., Awaitable[User]]


@pytest.fixture
async def make_user(browser: Browser, base_url: str, outbox: Mailbox) -> AsyncIterator[MakeUser]:
    """Users registered through the API in their own browser context, page at the board,
    their e-mail verified with the link the server mailed (so they can accept invitations)."""
    contexts: list[BrowserContext] = []

    async def make(
        name: str,
        prepare: Callable[[BrowserContext], Awaitable[None]] | None = None,
        **context_options: Any,
    ) -> User:
        """`context_options` go to Playwright's new_context (e.g. timezone_id, viewport);
        `prepare` gets the context before the page first loads (e.g. to slow its network)."""
        options: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}, **context_options}
        context = await browser.new_context(**options)
        contexts.append(context)
        if prepare:
            await prepare(context)
        email = f"{name.lower()}-{time.time_ns()}@example.com"
        response = await context.request.post(
            f"{base_url}/api/v1/auth/register",
            data={"email": email, "password": PASSWORD, "display_name": name},
        )
        assert response.status == 201, await response.text()
        body = await response.json()
        _, token = link_token(await outbox.wait_for(email, "confirm"))
        verified = await context.request.post(
            f"{base_url}/api/v1/auth/verify-email",
            data={"token": token},
            headers={"X-CSRF-Token": body["csrf_token"]},
        )
        assert verified.status == 204, await verified.text()
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        async def on_dialog(dialog: Dialog) -> None:
            if dialog.type == "alert":  # the app never alerts: that would be injected script
                errors.append(f"alert: {dialog.message}")
            await dialog.accept()

        page.on("dialog", on_dialog)
        await page.goto(f"{base_url}/")
        await page.wait_for_selector("#app-view:not([hidden])")
        return User(context, page, body["id"], email, name, body["csrf_token"], errors)

    yield make
    for context in contexts:
        await context.close()
