"""One fixture world for the authorization tests: two teams, their objects, eight principals.

Team A (owner, admin, member, viewer) is the team under test; team B's owner is the
`outsider` (logged in, a member of another team). `revoked` is a Bearer token of A's owner
that was revoked, `expired` a session cookie of A's owner that was logged out: the
strongest user's dead credentials must open nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from taskmanager.membership.models import Project
from tests.helpers import API, ApiClient, add_member, create_project, create_task, unique_email
from tests.server import RunningServer

TEAM_ROLES = ("owner", "admin", "member", "viewer")
PRINCIPALS = (*TEAM_ROLES, "outsider", "anonymous", "revoked", "expired")


@dataclass(frozen=True)
class Cred:
    """How a principal proves who it is: a session cookie (+ CSRF token), a Bearer, or none."""

    session: str | None = None
    csrf: str | None = None
    bearer: str | None = None

    def headers(self) -> dict[str, str]:
        if self.bearer is not None:
            return {"Authorization": f"Bearer {self.bearer}"}
        if self.session is None:
            return {}
        return {"Cookie": f"session={self.session}", "X-CSRF-Token": self.csrf or ""}


def cred_of(client: ApiClient) -> Cred:
    return Cred(session=client.cookies["session"], csrf=client.headers["X-CSRF-Token"])


@dataclass
class TeamObjects:
    """A project with a task, a label on it and a comment by the `member`-role user."""

    project_id: str
    task_id: str
    other_task_id: str
    label_id: str
    comment_id: str
    user_ids: dict[str, str]
    secret: str  # a marker in every title/body of this team: it must never leak


@dataclass
class World:
    server: RunningServer
    raw: httpx.AsyncClient  # sends each principal's credentials explicitly, keeps no cookies
    clients: dict[str, ApiClient]  # set-up clients: A's roles, "outsider", "victim" (B member)
    creds: dict[str, Cred]
    a: TeamObjects
    b: TeamObjects
    spare: ApiClient  # a user in no project of the world, added to fresh projects
    victim_session_id: str  # public id of a session of B's member
    victim_token_id: str
    victim_token: str
    counter: list[int] = field(default_factory=lambda: [0])
    shared: dict[object, str] = field(default_factory=dict)

    def unique(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix} {self.counter[0]}"

    async def send(
        self,
        principal: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        cred: Cred | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        """One request as `principal`; a streaming (SSE) answer is closed after its headers."""
        headers = (cred or self.creds[principal]).headers()
        try:
            async with self.raw.stream(
                method, path, json=json, files=files, headers=headers
            ) as response:
                if not response.headers.get("content-type", "").startswith("text/event-stream"):
                    await response.aread()
                return response
        finally:
            self.raw.cookies.clear()  # never let one principal's Set-Cookie reach the next

    async def event_seq(self, project_id: str) -> int | None:
        """The project's event counter straight from the database (None once deleted)."""
        async with self.server.resources.session_factory() as db:
            seq: int | None = await db.scalar(
                select(Project.event_seq).where(Project.id == uuid.UUID(project_id))
            )
            return seq

    # -- fresh objects for writes that would disturb later rows --------------------------

    async def fresh(self, key: object, ok: bool, make: Callable[[], Awaitable[str]]) -> str:
        """A new object for a call that will succeed; refused calls share one per `key`."""
        if ok:
            return await make()
        if key not in self.shared:
            self.shared[key] = await make()
        return self.shared[key]

    async def fresh_task(self) -> str:
        return str((await create_task(self.clients["owner"], self.a.project_id, "fresh"))["id"])

    async def fresh_label(self) -> str:
        response = await self.clients["owner"].post(
            f"{API}/projects/{self.a.project_id}/labels",
            json={"name": self.unique("fresh"), "color": "#123456"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def fresh_comment(self) -> str:
        """A comment written by the `member`-role user (so author rules show)."""
        response = await self.clients["member"].post(
            f"{API}/tasks/{self.a.task_id}/comments", json={"body": "fresh"}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def fresh_project(self) -> str:
        """A project with A's four roles plus the spare user as a plain member."""
        owner = self.clients["owner"]
        project_id = str((await create_project(owner, "fresh"))["id"])
        for role in ("admin", "member", "viewer"):
            await add_member(owner, project_id, self.clients[role], role)
        await add_member(owner, project_id, self.spare, "member")
        return project_id

    async def fresh_login(self, principal: str) -> Cred:
        """A second session of a logged-in principal (for logout); dead creds as they are."""
        if principal not in (*TEAM_ROLES, "outsider"):
            return self.creds[principal]
        async with ApiClient(base_url=self.server.base_url, timeout=30) as c:
            await c.login(self.clients[principal].email)
            return cred_of(c)


async def _team(
    clients: dict[str, ApiClient], owner: str, others: dict[str, str], secret: str
) -> TeamObjects:
    boss = clients[owner]
    project = await create_project(boss, f"{secret} project", description=secret)
    project_id = str(project["id"])
    for name, role in others.items():
        await add_member(boss, project_id, clients[name], role)
    label = await boss.post(
        f"{API}/projects/{project_id}/labels", json={"name": f"{secret} label", "color": "#aa0000"}
    )
    assert label.status_code == 201, label.text
    label_id = str(label.json()["id"])
    worker = clients[next(n for n, r in others.items() if r == "member")]
    task = await create_task(
        boss,
        project_id,
        f"{secret} task",
        description=secret,
        assignee_id=worker.user["id"],
        label_ids=[label_id],
    )
    other = await create_task(boss, project_id, f"{secret} second task")
    comment = await worker.post(f"{API}/tasks/{task['id']}/comments", json={"body": secret})
    assert comment.status_code == 201, comment.text
    user_ids = {name: str(clients[name].user["id"]) for name in (owner, *others)}
    return TeamObjects(
        project_id=project_id,
        task_id=str(task["id"]),
        other_task_id=str(other["id"]),
        label_id=label_id,
        comment_id=str(comment.json()["id"]),
        user_ids=user_ids,
        secret=secret,
    )


async def build_world(server: RunningServer) -> World:
    base = server.base_url
    clients: dict[str, ApiClient] = {}
    for name in (*TEAM_ROLES, "outsider", "victim", "spare"):
        c = ApiClient(base_url=base, timeout=30)
        await c.register(unique_email(name))
        clients[name] = c
    spare = clients.pop("spare")
    a = await _team(clients, "owner", {r: r for r in TEAM_ROLES[1:]}, "ALPHA-" + uuid.uuid4().hex)
    b = await _team(clients, "outsider", {"victim": "member"}, "BRAVO-" + uuid.uuid4().hex)
    b.user_ids["owner"] = b.user_ids.pop("outsider")
    b.user_ids["member"] = b.user_ids.pop("victim")

    creds = {name: cred_of(clients[name]) for name in (*TEAM_ROLES, "outsider")}
    creds["anonymous"] = Cred()
    owner = clients["owner"]
    token = await owner.post(f"{API}/auth/tokens", json={"name": "soon revoked"})
    assert token.status_code == 201, token.text
    revoked = await owner.delete(f"{API}/auth/tokens/{token.json()['id']}")
    assert revoked.status_code == 204
    creds["revoked"] = Cred(bearer=token.json()["token"])
    async with ApiClient(base_url=base, timeout=30) as gone:
        await gone.login(owner.email)
        creds["expired"] = cred_of(gone)
        assert (await gone.post(f"{API}/auth/logout")).status_code == 204

    victim = clients["victim"]
    victim_token = await victim.post(f"{API}/auth/tokens", json={"name": "victim"})
    assert victim_token.status_code == 201, victim_token.text
    sessions = (await victim.get(f"{API}/auth/sessions")).json()
    return World(
        server=server,
        raw=httpx.AsyncClient(base_url=base, timeout=30),
        clients=clients,
        creds=creds,
        a=a,
        b=b,
        spare=spare,
        victim_session_id=str(sessions[0]["id"]),
        victim_token_id=str(victim_token.json()["id"]),
        victim_token=str(victim_token.json()["token"]),
    )


async def close_world(world: World) -> None:
    await world.raw.aclose()
    for c in [*world.clients.values(), world.spare]:
        await c.aclose()
