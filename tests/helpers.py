"""Test helpers: an HTTP client that keeps the CSRF token, and quick ways to make users."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import MappingProxyType
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from taskmanager.auth.models import ApiToken, User
from tests.server import RUNNING, RunningServer

PASSWORD = "a sturdy passphrase 42"
_counter = itertools.count()


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com"


class ApiClient(httpx.AsyncClient):
    """An httpx client that sends the CSRF token it was given at login, like a browser app."""

    user: dict[str, Any]
    email: str

    def remember_login(self, response: httpx.Response) -> dict[str, Any]:
        body: dict[str, Any] = response.json()
        self.headers["X-CSRF-Token"] = body["csrf_token"]
        self.user = body
        return body

    async def register(self, email: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
        self.email = email or unique_email()
        response = await self.post(
            "/api/v1/auth/register",
            json={"email": self.email, "password": password, "display_name": "Test User"},
        )
        assert response.status_code == 201, response.text
        return self.remember_login(response)

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = await self.post(
            "/api/v1/auth/login", json={"email": email, "password": password}
        )
        assert response.status_code == 200, response.text
        self.email = email
        return self.remember_login(response)


@asynccontextmanager
async def client_factory(base_url: str) -> AsyncIterator[Callable[[], ApiClient]]:
    """Makes any number of independent clients (own cookie jars), closed at the end."""
    clients: list[ApiClient] = []

    def factory() -> ApiClient:
        c = ApiClient(base_url=base_url, timeout=30)
        clients.append(c)
        return c

    yield factory
    for c in clients:
        await c.aclose()


def assert_problem(
    response: httpx.Response, status: int, *, field: str | None = None
) -> dict[str, Any]:
    """The response is RFC 9457 problem+json with this status (and an error at `field`)."""
    assert response.status_code == status, f"{response.status_code} != {status}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    if field is not None:
        locs = [e["loc"] for e in body.get("errors", [])]
        assert any(field in map(str, loc) for loc in locs), f"no error at {field}: {body}"
    return body


# --- projects, members, tasks: shared by tests/projects, tasks, labels, comments, events ---

API = "/api/v1"
ROLES = ("owner", "admin", "member", "viewer")
# What a read of anything in the project answers to each caller: every member may read,
# an outsider sees a 404 (the project's existence is not disclosed), nobody signed in a 401.
MEMBERS_READ: Mapping[str, int] = MappingProxyType(
    {
        "owner": 200,
        "admin": 200,
        "member": 200,
        "viewer": 200,
        "outsider": 404,
        "anonymous": 401,
    }
)


class Team:
    """One project with a client per role, plus an outsider and an anonymous client."""

    def __init__(
        self, clients: dict[str, ApiClient], anonymous: ApiClient, project: dict[str, Any]
    ):
        self.clients = clients
        self.anonymous = anonymous
        self.project = project

    @property
    def project_id(self) -> str:
        return str(self.project["id"])

    def __getitem__(self, role: str) -> ApiClient:
        return self.anonymous if role == "anonymous" else self.clients[role]

    def user_id(self, role: str) -> str:
        return str(self.clients[role].user["id"])

    async def aclose(self) -> None:
        for c in [*self.clients.values(), self.anonymous]:
            await c.aclose()


async def create_project(client: ApiClient, name: str = "Project", **extra: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/projects", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify_email(client: ApiClient) -> None:
    """Mark the client's e-mail verified, straight in its server's database: the setup
    step a person does by following the mailed link (tests/accounts covers the link)."""
    await verify_address(RUNNING[str(client.base_url).rstrip("/")], client.email)


async def verify_address(server: RunningServer, email: str) -> None:
    async with server.resources.session_factory() as db:
        await db.execute(update(User).where(User.email == email).values(email_verified=True))
        await db.commit()


async def invite(owner: ApiClient, project_id: str, email: str, role: str) -> dict[str, Any]:
    response = await owner.post(
        f"{API}/projects/{project_id}/invitations", json={"email": email, "role": role}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def add_member(
    owner: ApiClient, project_id: str, member: ApiClient, role: str
) -> dict[str, Any]:
    """Membership the only way there is: `owner` invites, `member` (verified) accepts."""
    invitation = await invite(owner, project_id, member.email, role)
    await verify_email(member)
    response = await member.post(
        f"{API}/invitations/accept", json={"invitation_id": invitation["id"]}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_task(
    client: ApiClient, project_id: str, title: str = "Task", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/projects/{project_id}/tasks", json={"title": title, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def make_team(base_url: str, name: str = "Team project") -> Team:
    """Owner creates a project; admin, member, viewer are added; outsider stays out."""
    clients: dict[str, ApiClient] = {}
    for role in (*ROLES, "outsider"):
        c = ApiClient(base_url=base_url, timeout=30)
        await c.register()
        clients[role] = c
    project = await create_project(clients["owner"], name)
    for role in ("admin", "member", "viewer"):
        await add_member(clients["owner"], project["id"], clients[role], role)
    return Team(clients, ApiClient(base_url=base_url, timeout=30), project)


async def events(client: ApiClient, project_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
    """The whole event log after `after_seq`."""
    out: list[dict[str, Any]] = []
    while True:
        response = await client.get(
            f"{API}/projects/{project_id}/events", params={"after_seq": after_seq, "limit": 100}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        out.extend(page["items"])
        if page["next_cursor"] is None:
            return out
        after_seq = int(page["next_cursor"])


async def last_seq(client: ApiClient, project_id: str) -> int:
    log = await events(client, project_id)
    return int(log[-1]["seq"]) if log else 0


@pytest.fixture(scope="module")
async def team_users(server: RunningServer) -> AsyncIterator[dict[str, ApiClient]]:
    """Five registered users per test module (registering is deliberately slow: argon2)."""
    clients: dict[str, ApiClient] = {}
    for role in (*ROLES, "outsider"):
        c = ApiClient(base_url=server.base_url, timeout=30)
        await c.register()
        clients[role] = c
    yield clients
    for c in clients.values():
        await c.aclose()


@pytest.fixture
async def team(server: RunningServer, team_users: dict[str, ApiClient]) -> AsyncIterator[Team]:
    """A fresh project with one client per role (use via `from tests.helpers import team`)."""
    project = await create_project(team_users["owner"], "Team project")
    for role in ("admin", "member", "viewer"):
        await add_member(team_users["owner"], project["id"], team_users[role], role)
    anonymous = ApiClient(base_url=server.base_url, timeout=30)
    yield Team(team_users, anonymous, project)
    await anonymous.aclose()


async def expect_statuses(
    team: Team,
    expected: Mapping[str, int],
    call: Callable[[ApiClient, str], Awaitable[httpx.Response]],
) -> None:
    """Run `call(client, role)` for each role and check its status (problem+json on errors)."""
    for role, status in expected.items():
        response = await call(team[role], role)
        if status >= 400:
            assert_problem(response, status)
        else:
            assert response.status_code == status, f"{role}: {response.status_code} {response.text}"


async def expire_token(server: RunningServer, token_id: str) -> None:
    """Make an API token one that expired a second ago, straight in the database."""
    async with server.resources.session_factory() as db:
        await db.execute(
            update(ApiToken)
            .where(ApiToken.id == uuid.UUID(token_id))
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
        await db.commit()
