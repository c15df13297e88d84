"""Every POST that takes an Idempotency-Key: a retry is authenticated like the first request
(another account, a dead session, a missing CSRF header get nothing of the stored answer),
and an answer that carries a secret is never kept or replayed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from taskmanager.notifications.emails.tokens import make_token
from taskmanager.notifications.kinds import NotificationKind
from tests.helpers import (
    API,
    PASSWORD,
    ApiClient,
    add_member,
    assert_problem,
    create_project,
    create_task,
    invite,
    unique_email,
    verify_email,
)
from tests.mailbox import Mailbox, link_token
from tests.server import RunningServer
from tests.webhooks.logged import logged_delivery


@dataclass
class World:
    owner: ApiClient  # owns `project`; each case logs in again for a session of its own
    other: ApiClient  # another account, in no project of the owner's
    member: ApiClient
    project: dict[str, Any]
    server: RunningServer

    @property
    def mailbox(self) -> Mailbox:
        """Mail of the shared server: no SMTP_URL, so it goes to the outbox directory."""
        return Mailbox(outbox=self.server.settings.outbox_dir)

    async def fresh_email(self) -> str:
        """The e-mail of a new account (the caller's would lose its sessions or password)."""
        async with ApiClient(base_url=self.server.base_url, timeout=30) as client:
            await client.register()
            return client.email


@dataclass
class Case:
    path: str
    body: dict[str, Any] | None
    first: int
    authenticated: bool = True  # the route needs a principal (anonymous: register, login)
    # A raw body instead of JSON (an upload): the same bytes on every retry, boundary and all.
    content: bytes | None = None
    content_type: str | None = None

    def sent(self, headers: dict[str, str]) -> dict[str, Any]:
        """httpx arguments of one attempt, with these extra headers."""
        if self.content is None:
            return {"json": self.body, "headers": headers}
        assert self.content_type is not None
        return {"content": self.content, "headers": headers | {"Content-Type": self.content_type}}


Prepare = Callable[[World], Awaitable[Case]]


async def _register(w: World) -> Case:
    body = {"email": unique_email(), "password": PASSWORD, "display_name": "New"}
    return Case(f"{API}/auth/register", body, 201, authenticated=False)


async def _login(w: World) -> Case:
    return Case(f"{API}/auth/login", {"email": w.member.email, "password": PASSWORD}, 200, False)


async def _logout(w: World) -> Case:
    return Case(f"{API}/auth/logout", None, 204)


async def _token(w: World) -> Case:
    return Case(f"{API}/auth/tokens", {"name": "replayed?"}, 201)


async def _project(w: World) -> Case:
    return Case(f"{API}/projects", {"name": "Idempotent"}, 201)


async def _password_reset(w: World) -> Case:
    body = {"email": await w.fresh_email()}
    return Case(f"{API}/auth/password-reset", body, 202, authenticated=False)


async def _password_reset_confirm(w: World) -> Case:
    email = await w.fresh_email()
    async with httpx.AsyncClient(base_url=w.server.base_url) as anonymous:
        asked = await anonymous.post(f"{API}/auth/password-reset", json={"email": email})
        assert asked.status_code == 202, asked.text
    _, token = link_token(await w.mailbox.wait_for(email, "reset your password"))
    body = {"token": token, "new_password": PASSWORD + "-new"}
    return Case(f"{API}/auth/password-reset/confirm", body, 204, authenticated=False)


async def _verify_email(w: World) -> Case:
    email = await w.fresh_email()
    _, token = link_token(await w.mailbox.wait_for(email, "confirm"))
    return Case(f"{API}/auth/verify-email", {"token": token}, 204, authenticated=False)


async def _resend_verification(w: World) -> Case:
    return Case(f"{API}/auth/verify-email/resend", None, 202)


async def _change_email(w: World) -> Case:
    body = {"new_email": unique_email(), "password": PASSWORD}
    return Case(f"{API}/auth/me/email", body, 202)


async def _transfer(w: World) -> Case:
    project = await create_project(w.owner, "To hand over")
    await add_member(w.owner, project["id"], w.member, "admin")
    body = {"user_id": w.member.user["id"]}
    return Case(f"{API}/projects/{project['id']}/transfer", body, 200)


async def _invitation(w: World) -> Case:
    body = {"email": unique_email(), "role": "viewer"}
    return Case(f"{API}/projects/{w.project['id']}/invitations", body, 201)


async def _invitation_to_owner(w: World) -> dict[str, Any]:
    """A pending invitation of the owner (the caller of every case) to another's project."""
    await verify_email(w.owner)
    project = await create_project(w.member, "Inviting")
    return await invite(w.member, project["id"], w.owner.email, "viewer")


async def _accept(w: World) -> Case:
    invitation = await _invitation_to_owner(w)
    return Case(f"{API}/invitations/accept", {"invitation_id": invitation["id"]}, 200)


async def _decline(w: World) -> Case:
    invitation = await _invitation_to_owner(w)
    return Case(f"{API}/invitations/{invitation['id']}/decline", None, 204)


async def _task(w: World) -> Case:
    return Case(f"{API}/projects/{w.project['id']}/tasks", {"title": "Once"}, 201)


async def _move(w: World) -> Case:
    task = await create_task(w.owner, w.project["id"], "Move me")
    return Case(f"{API}/tasks/{task['id']}/move", {"status": "done"}, 200)


async def _label(w: World) -> Case:
    body = {"name": f"l-{uuid.uuid4().hex[:8]}", "color": "#123456"}
    return Case(f"{API}/projects/{w.project['id']}/labels", body, 201)


async def _relation(w: World) -> Case:
    a = await create_task(w.owner, w.project["id"], "A")
    b = await create_task(w.owner, w.project["id"], "B")
    return Case(f"{API}/tasks/{a['id']}/relations", {"kind": "blocks", "task_id": b["id"]}, 201)


async def _import(w: World) -> Case:
    body = {"format": "taskmanager.project/1", "project": {"name": "Imported"}}
    return Case(f"{API}/projects/import", body, 201)


async def _calendar_feed(w: World) -> Case:
    return Case(f"{API}/auth/me/calendar-feed", None, 201)


async def _comment(w: World) -> Case:
    task = await create_task(w.owner, w.project["id"], "Discuss")
    return Case(f"{API}/tasks/{task['id']}/comments", {"body": "First!"}, 201)


async def _read_notification(w: World) -> Case:
    await _invitation_to_owner(w)  # tells the (verified) owner: a notification of theirs
    listed = await w.owner.get(f"{API}/notifications", params={"limit": 1})
    notification_id = listed.json()["items"][0]["id"]
    return Case(f"{API}/notifications/{notification_id}/read", None, 200)


async def _read_all(w: World) -> Case:
    return Case(f"{API}/notifications/read-all", None, 200)


async def _watch(w: World) -> Case:
    task = await create_task(w.owner, w.project["id"], "Watch me")
    return Case(f"{API}/tasks/{task['id']}/watch", None, 200)


async def _unsubscribe(w: World) -> Case:
    # The signed token is the credential (no session): the answer is an empty 204.
    user_id = uuid.UUID(w.owner.user["id"])
    token = make_token(w.server.resources.secret_key, user_id, NotificationKind.COMMENTED)
    path = f"{API}/notifications/unsubscribe?token={token}"
    return Case(path, None, 204, authenticated=False)


async def _webhook(w: World) -> Case:
    # A public address: this server refuses private ones. Nothing is sent: the filter
    # names an event this project never has.
    body = {"url": "https://8.8.8.8/replayed", "events": ["project.deleted"]}
    return Case(f"{API}/projects/{w.project['id']}/webhooks", body, 201)


async def _redeliver(w: World) -> Case:
    hook = await w.owner.post(
        f"{API}/projects/{w.project['id']}/webhooks",
        json={"url": "https://8.8.8.8/again", "events": ["project.deleted"]},
    )
    assert hook.status_code == 201, hook.text
    delivery_id = await logged_delivery(w.server, hook.json()["id"])
    return Case(f"{API}/webhooks/{hook.json()['id']}/deliveries/{delivery_id}/redeliver", None, 202)


async def _attachment(w: World) -> Case:
    task = await create_task(w.owner, w.project["id"], "With a file")
    boundary = "replayed-boundary"
    content = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="once.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nstored once\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    return Case(
        f"{API}/tasks/{task['id']}/attachments",
        None,
        201,
        content=content,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


CASES: dict[str, Prepare] = {
    "/api/v1/auth/register": _register,
    "/api/v1/auth/login": _login,
    "/api/v1/auth/logout": _logout,
    "/api/v1/auth/tokens": _token,
    "/api/v1/auth/password-reset": _password_reset,
    "/api/v1/auth/password-reset/confirm": _password_reset_confirm,
    "/api/v1/auth/verify-email": _verify_email,
    "/api/v1/auth/verify-email/resend": _resend_verification,
    "/api/v1/auth/me/email": _change_email,
    "/api/v1/projects": _project,
    "/api/v1/projects/{project_id}/transfer": _transfer,
    "/api/v1/projects/{project_id}/invitations": _invitation,
    "/api/v1/invitations/accept": _accept,
    "/api/v1/invitations/{invitation_id}/decline": _decline,
    "/api/v1/projects/{project_id}/tasks": _task,
    "/api/v1/tasks/{task_id}/move": _move,
    "/api/v1/projects/{project_id}/labels": _label,
    "/api/v1/tasks/{task_id}/comments": _comment,
    "/api/v1/tasks/{task_id}/relations": _relation,
    "/api/v1/projects/import": _import,
    "/api/v1/auth/me/calendar-feed": _calendar_feed,
    "/api/v1/notifications/{notification_id}/read": _read_notification,
    "/api/v1/notifications/read-all": _read_all,
    "/api/v1/tasks/{task_id}/watch": _watch,
    "/api/v1/notifications/unsubscribe": _unsubscribe,
    "/api/v1/projects/{project_id}/webhooks": _webhook,
    "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": _redeliver,
    "/api/v1/tasks/{task_id}/attachments": _attachment,
}
# What a retry by the same, still signed-in caller gets: the stored answer, a 409 (its
# answer held a secret), or a fresh run (answers that set cookies are never stored).
SAME_CALLER = {
    "/api/v1/auth/tokens": "withheld",
    "/api/v1/auth/me/calendar-feed": "withheld",
    "/api/v1/projects/{project_id}/webhooks": "withheld",
    "/api/v1/auth/logout": "401",  # the session it ended is the one retrying
    "/api/v1/auth/register": "runs again",
    "/api/v1/auth/login": "runs again",
}


@pytest.fixture(scope="module")
async def world(server: RunningServer) -> AsyncIterator[World]:
    clients = [ApiClient(base_url=server.base_url, timeout=30) for _ in range(3)]
    for c in clients:
        await c.register()
    owner, other, member = clients
    yield World(owner, other, member, await create_project(owner, "Replays"), server)
    for c in clients:
        await c.aclose()


async def test_every_post_operation_is_covered(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as c:
        spec = (await c.get("/openapi.json")).json()
    posts = {path for path, ops in spec["paths"].items() if "post" in ops}
    assert posts == CASES.keys()


def _leaks(response: httpx.Response, first: httpx.Response, case: Case) -> bool:
    """Whether `response` hands out the first answer or a secret or id it held."""
    if response.headers.get("idempotent-replayed"):
        # An anonymous route's answer is keyed by the cookie or address it came with and
        # replayed without a check (there is no one to prove). That is no leak when the
        # answer is a constant that holds nothing (202 `{}`, 204): whoever sends that
        # cookie could have had the same answer by asking.
        return case.authenticated or first.content not in (b"", b"{}")
    body = first.json() if first.content else {}
    # A login's answer is the account's own (anyone with its password may get one).
    names = ("id", "token", "url", "csrf_token") if case.authenticated else ("token", "csrf_token")
    values = [str(body[name]) for name in names if body.get(name)]
    return any(value in response.text for value in values if value not in case.path)


@pytest.mark.parametrize("path", CASES)
async def test_retries_are_authenticated_like_the_first_request(
    server: RunningServer, world: World, path: str
) -> None:
    case = await CASES[path](world)
    key = {"Idempotency-Key": f"replay-{uuid.uuid4()}"}
    async with (
        ApiClient(base_url=server.base_url, timeout=30) as caller,
        ApiClient(base_url=server.base_url, timeout=30) as stranger,
    ):
        await caller.login(world.owner.email)
        await stranger.login(world.other.email)
        first = await caller.post(case.path, **case.sent(key))
        assert first.status_code == case.first, first.text
        session = {"Cookie": f"session={caller.cookies.get('session', '')}"}
        csrf = {"X-CSRF-Token": str(caller.headers.get("X-CSRF-Token", ""))}

        async def retry(headers: dict[str, str]) -> httpx.Response:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as raw:
                return await raw.post(case.path, **case.sent(key | headers))

        # Another account, with its own live session and CSRF token, never sees it.
        other = await stranger.post(case.path, **case.sent(key))
        assert not _leaks(other, first, case), other.text
        # The same session without its CSRF header: refused like any cookie write.
        no_csrf = await retry(session)
        assert not _leaks(no_csrf, first, case), no_csrf.text
        if case.authenticated:
            assert_problem(no_csrf, 401 if path.endswith("/logout") else 403)
        # The same caller, as it was: what SAME_CALLER says, and never a secret twice.
        same = await retry(session | csrf)
        expected = SAME_CALLER.get(path, "replayed")
        if expected == "replayed":
            assert same.headers.get("idempotent-replayed") == "true", same.text
            assert (same.status_code, same.content) == (first.status_code, first.content)
        elif expected == "withheld":
            body = assert_problem(same, 409)
            assert body["code"] == "idempotency_response_withheld"
            answer = first.json()
            secret = answer.get("token") or answer.get("secret") or answer["url"]
            assert secret not in same.text
        elif expected == "401":
            assert_problem(same, 401)
        else:
            assert "idempotent-replayed" not in same.headers
        # The session ends: its cookie and CSRF token replay nothing any more.
        await caller.post(f"{API}/auth/logout", headers={"Cookie": session["Cookie"]} | csrf)
        dead = await retry(session | csrf)
        assert not _leaks(dead, first, case), dead.text
        if case.authenticated:
            assert_problem(dead, 401)


async def test_token_secret_is_not_kept_in_redis(server: RunningServer, world: World) -> None:
    key = {"Idempotency-Key": f"secret-{uuid.uuid4()}"}
    created = await world.member.post(f"{API}/auth/tokens", json={"name": "once"}, headers=key)
    assert created.status_code == 201
    secret = created.json()["token"]
    redis = server.resources.redis
    async for name in redis.scan_iter("idem:*"):
        assert secret.encode() not in (await redis.get(name) or b"")
    tokens = (await world.member.get(f"{API}/auth/tokens")).json()
    assert [t["name"] for t in tokens].count("once") == 1


async def test_answers_stored_without_their_caller_are_not_replayed(
    server: RunningServer, world: World
) -> None:
    """Records written before replays were authenticated (kept up to 24 h across an
    upgrade) name no caller: nobody can be proven their owner, so nobody gets them."""
    redis = server.resources.redis
    before = {name async for name in redis.scan_iter("idem:*")}
    key = {"Idempotency-Key": f"legacy-{uuid.uuid4()}"}
    url = f"{API}/projects/{world.project['id']}/tasks"
    first = await world.owner.post(url, json={"title": "legacy"}, headers=key)
    assert first.status_code == 201, first.text
    (name,) = {n async for n in redis.scan_iter("idem:*")} - before
    stored = await redis.get(name)
    assert stored is not None
    record = orjson.loads(stored)
    del record["user"]
    await redis.set(name, orjson.dumps(record), keepttl=True)
    again = await world.owner.post(url, json={"title": "legacy"}, headers=key)
    body = assert_problem(again, 409)
    assert body["code"] == "idempotency_response_withheld"
    assert first.text not in again.text
