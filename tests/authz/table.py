"""The authorization matrix: every OpenAPI operation -> expected status for each principal.

Each row says what one principal gets for one operation against real objects of team A.
`build` makes the request: writes that would disturb later rows (deletes, membership,
ownership) act on fresh objects made for that principal; the rest act on team A's shared
objects, which they may edit but never remove. A new route fails
tests/authz/test_matrix.py until it gets a row here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.authz.world import PRINCIPALS, Cred, World
from tests.helpers import API, PASSWORD, unique_email
from tests.webhooks.logged import logged_delivery


@dataclass(frozen=True)
class Request:
    path: str
    json: Any = None
    project_id: str | None = None  # whose event log must not move when the call is refused
    cred: Cred | None = None  # instead of the principal's usual credentials
    files: dict[str, tuple[str, bytes, str]] | None = None  # a multipart body instead of JSON


# (world, principal, expected to succeed?) -> the request. A refused call changes nothing, so
# every refused principal of a row may share one fresh object; a successful one gets its own.
Build = Callable[[World, str, bool], Awaitable[Request]]


@dataclass(frozen=True)
class Row:
    expect: dict[str, int]
    build: Build


def expect(
    owner: int,
    admin: int,
    member: int,
    viewer: int,
    outsider: int,
    *,
    anonymous: int = 401,
    revoked: int = 401,
    expired: int = 401,
) -> dict[str, int]:
    row = dict(zip(PRINCIPALS, (owner, admin, member, viewer, outsider), strict=False))
    row.update(anonymous=anonymous, revoked=revoked, expired=expired)
    return row


def read(ok: int = 200) -> dict[str, int]:
    """Any member of the project; an outsider must not learn that it exists."""
    return expect(ok, ok, ok, ok, 404)


def member_write(ok: int) -> dict[str, int]:
    return expect(ok, ok, ok, 403, 404)


def admin_write(ok: int) -> dict[str, int]:
    return expect(ok, ok, 403, 403, 404)


def owner_only(ok: int) -> dict[str, int]:
    return expect(ok, 403, 403, 403, 404)


def any_user(ok: int) -> dict[str, int]:
    """Own account data: every logged-in user, whatever their projects."""
    return expect(ok, ok, ok, ok, ok)


def public(ok: int) -> dict[str, int]:
    return expect(ok, ok, ok, ok, ok, anonymous=ok, revoked=ok, expired=ok)


def fixed(path: str, json: Any = None) -> Build:
    """The same request for everyone on team A's shared objects (`{a.x}` placeholders)."""

    async def build(world: World, principal: str, ok: bool) -> Request:
        return Request(path.format(a=world.a), json, project_id=world.a.project_id)

    return build


async def _register(world: World, principal: str, ok: bool) -> Request:
    body = {"email": unique_email("matrix"), "password": PASSWORD, "display_name": "M"}
    return Request("/api/v1/auth/register", body)


async def _login(world: World, principal: str, ok: bool) -> Request:
    # A wrong password: a right one would end the caller's own session (login rotates it).
    body = {"email": unique_email("nobody"), "password": PASSWORD}
    return Request("/api/v1/auth/login", body)


async def _logout(world: World, principal: str, ok: bool) -> Request:
    return Request("/api/v1/auth/logout", cred=await world.fresh_login(principal))


async def _password(world: World, principal: str, ok: bool) -> Request:
    # A wrong current password: getting past authentication is what this row proves; the
    # rotation itself is in tests/auth/test_csrf_and_password.py.
    body = {"current_password": "not the password", "new_password": "a brand new passphrase"}
    return Request("/api/v1/auth/me/password", body)


async def _victim_session(world: World, principal: str, ok: bool) -> Request:
    return Request(f"/api/v1/auth/sessions/{world.victim_session_id}")


async def _victim_token(world: World, principal: str, ok: bool) -> Request:
    return Request(f"/api/v1/auth/tokens/{world.victim_token_id}")


async def _new_token(world: World, principal: str, ok: bool) -> Request:
    return Request("/api/v1/auth/tokens", {"name": world.unique("matrix")})


async def _body(path: str, **body: Any) -> Request:
    return Request(API + path, body)


def on_invitation(path: Callable[[str], str], *, accept: bool = False) -> Build:
    """A pending invitation of team A's project to an address nobody in the world has."""

    async def make(world: World) -> str:
        response = await world.clients["owner"].post(
            f"{API}/projects/{world.a.project_id}/invitations",
            json={"email": unique_email("invitee"), "role": "member"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def build(world: World, principal: str, ok: bool) -> Request:
        invitation_id = await world.fresh(build, ok, lambda: make(world))
        body = {"invitation_id": invitation_id} if accept else None
        return Request(path(invitation_id), body, project_id=world.a.project_id)

    return build


def on_fresh_project(suffix: str, body: Callable[[World], Any] = lambda w: None) -> Build:
    async def build(world: World, principal: str, ok: bool) -> Request:
        project_id = await world.fresh(build, ok, world.fresh_project)
        path = f"{API}/projects/{project_id}{suffix.format(spare=world.spare.user['id'])}"
        return Request(path, body(world), project_id=project_id)

    return build


def on_fresh(kind: str, suffix: str = "", body: Any = None) -> Build:
    async def build(world: World, principal: str, ok: bool) -> Request:
        make = {"tasks": world.fresh_task, "labels": world.fresh_label}
        object_id = await world.fresh(build, ok, make.get(kind) or world.fresh_comment)
        return Request(f"{API}/{kind}/{object_id}{suffix}", body, project_id=world.a.project_id)

    return build


async def _new_label(world: World, principal: str, ok: bool) -> Request:
    body = {"name": world.unique("label"), "color": "#00ff00"}
    return Request(f"{API}/projects/{world.a.project_id}/labels", body, world.a.project_id)


async def _rename_label(world: World, principal: str, ok: bool) -> Request:
    label_id = await world.fresh(_rename_label, ok, world.fresh_label)
    body = {"name": world.unique("renamed")}
    return Request(f"{API}/labels/{label_id}", body, world.a.project_id)


async def _new_relation(world: World, principal: str, ok: bool) -> Request:
    task_id = await world.fresh(_new_relation, ok, world.fresh_task)
    body = {"kind": "relates_to", "task_id": world.a.task_id}
    return Request(f"{API}/tasks/{task_id}/relations", body, world.a.project_id)


async def _relation_of_fresh_task(world: World) -> str:
    """`<task id>/relations/<relation id>`: a fresh task blocking team A's shared one."""
    task_id = await world.fresh_task()
    response = await world.clients["owner"].post(
        f"{API}/tasks/{task_id}/relations", json={"kind": "blocks", "task_id": world.a.task_id}
    )
    assert response.status_code == 201, response.text
    return f"{task_id}/relations/{response.json()['id']}"


async def _delete_relation(world: World, principal: str, ok: bool) -> Request:
    path = await world.fresh(_delete_relation, ok, lambda: _relation_of_fresh_task(world))
    return Request(f"{API}/tasks/{path}", project_id=world.a.project_id)


async def _victims_notification(world: World, principal: str, ok: bool) -> Request:
    """A notification of B's member (assigned B's task): nobody here may mark it read."""
    response = await world.clients["victim"].get(f"{API}/notifications")
    assert response.status_code == 200, response.text
    notification_id = response.json()["items"][0]["id"]
    return Request(f"{API}/notifications/{notification_id}/read")


# A public address (this server refuses private ones) and an event team A's project never
# has: the webhooks these rows make never send anything.
WEBHOOK = {"url": "https://8.8.8.8/matrix", "events": ["project.deleted"]}


async def _fresh_webhook(world: World) -> str:
    response = await world.clients["owner"].post(
        f"{API}/projects/{world.a.project_id}/webhooks", json=WEBHOOK
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def on_webhook(suffix: str = "", body: Any = None, *, delivery: bool = False) -> Build:
    """A fresh webhook of team A (and with `delivery`, an entry of its log)."""

    async def build(world: World, principal: str, ok: bool) -> Request:
        webhook_id = await world.fresh(build, ok, lambda: _fresh_webhook(world))
        path = f"{API}/webhooks/{webhook_id}{suffix}"
        if delivery:
            path += f"/{await logged_delivery(world.server, webhook_id)}/redeliver"
        return Request(path, body, project_id=world.a.project_id)

    return build


async def _attachment(world: World) -> str:
    """A file on team A's shared task, uploaded by its owner."""
    response = await world.clients["owner"].post(
        f"{API}/tasks/{world.a.task_id}/attachments", files={"file": ("a.txt", b"a", "text/plain")}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _upload(world: World, principal: str, ok: bool) -> Request:
    files = {"file": ("notes.txt", b"notes", "text/plain")}
    return Request(
        f"{API}/tasks/{world.a.task_id}/attachments", project_id=world.a.project_id, files=files
    )


def on_attachment(suffix: str = "", *, fresh: bool = False) -> Build:
    """Team A's shared attachment, or (`fresh`, for deletes) a new one per success."""

    async def build(world: World, principal: str, ok: bool) -> Request:
        attachment_id = await world.fresh(build, ok and fresh, lambda: _attachment(world))
        path = f"{API}/attachments/{attachment_id}{suffix}"
        return Request(path, project_id=world.a.project_id)

    return build


P = API + "/projects/{a.project_id}"
T = API + "/tasks/{a.task_id}"

MATRIX: dict[str, Row] = {
    "GET /health": Row(public(200), fixed("/health")),
    "GET /health/live": Row(public(200), fixed("/health/live")),
    # -- auth: own account only; nothing here depends on project roles --------------------
    "POST /api/v1/auth/register": Row(public(201), _register),
    "POST /api/v1/auth/login": Row(public(401), _login),
    "POST /api/v1/auth/logout": Row(any_user(204), _logout),
    "GET /api/v1/auth/me": Row(any_user(200), fixed(API + "/auth/me")),
    "PATCH /api/v1/auth/me/password": Row(any_user(422), _password),
    "GET /api/v1/auth/sessions": Row(any_user(200), fixed(API + "/auth/sessions")),
    "DELETE /api/v1/auth/sessions/{session_id}": Row(any_user(404), _victim_session),
    "GET /api/v1/auth/tokens": Row(any_user(200), fixed(API + "/auth/tokens")),
    "POST /api/v1/auth/tokens": Row(any_user(201), _new_token),
    "DELETE /api/v1/auth/tokens/{token_id}": Row(any_user(404), _victim_token),
    # -- sign-in providers: none configured on this server (tests/oidc has a real one) -----
    "GET /api/v1/auth/providers": Row(public(200), fixed(API + "/auth/providers")),
    "GET /api/v1/auth/oidc/{name}/login": Row(public(404), fixed(API + "/auth/oidc/corp/login")),
    "GET /api/v1/auth/oidc/{name}/callback": Row(
        public(404), fixed(API + "/auth/oidc/corp/callback?state=s&code=c")
    ),
    # -- account self-service -------------------------------------------------------------
    "POST /api/v1/auth/password-reset": Row(
        public(202), lambda w, p, ok: _body("/auth/password-reset", email=unique_email("reset"))
    ),
    "POST /api/v1/auth/password-reset/confirm": Row(
        public(400),
        lambda w, p, ok: _body("/auth/password-reset/confirm", token="bad", new_password=PASSWORD),
    ),
    "POST /api/v1/auth/verify-email": Row(
        public(400), lambda w, p, ok: _body("/auth/verify-email", token="bad")
    ),
    "POST /api/v1/auth/verify-email/resend": Row(
        any_user(202), fixed(API + "/auth/verify-email/resend")
    ),
    "PATCH /api/v1/auth/me": Row(any_user(200), fixed(API + "/auth/me", {"display_name": "M"})),
    # A wrong password: getting past authentication is what these rows prove.
    "POST /api/v1/auth/me/email": Row(
        any_user(422),
        lambda w, p, ok: _body("/auth/me/email", new_email=unique_email("x"), password="wrong!!"),
    ),
    "DELETE /api/v1/auth/me": Row(
        any_user(422), lambda w, p, ok: _body("/auth/me", password="wrong password")
    ),
    # -- notification e-mail settings, and the unsubscribe link of a notification mail -------
    "GET /api/v1/auth/me/notification-settings": Row(
        any_user(200), fixed(API + "/auth/me/notification-settings")
    ),
    "PUT /api/v1/auth/me/notification-settings": Row(
        any_user(200), fixed(API + "/auth/me/notification-settings", {"digest": "off"})
    ),
    # The signed token is the credential, whoever sends it: a wrong one is a 400 for everyone.
    "GET /api/v1/notifications/unsubscribe": Row(
        public(400), fixed(API + "/notifications/unsubscribe?token=" + "0" * 32 + ".all.x")
    ),
    "POST /api/v1/notifications/unsubscribe": Row(
        public(400), fixed(API + "/notifications/unsubscribe?token=" + "0" * 32 + ".all.x")
    ),
    # -- projects and members -------------------------------------------------------------
    "POST /api/v1/projects": Row(any_user(201), fixed(API + "/projects", {"name": "mine"})),
    "GET /api/v1/projects": Row(any_user(200), fixed(API + "/projects")),
    "GET /api/v1/projects/{project_id}": Row(read(), fixed(P)),
    "PATCH /api/v1/projects/{project_id}": Row(
        admin_write(200), fixed(P, {"description": "edited"})
    ),
    "DELETE /api/v1/projects/{project_id}": Row(owner_only(204), on_fresh_project("")),
    "POST /api/v1/projects/{project_id}/transfer": Row(
        owner_only(200),
        on_fresh_project("/transfer", lambda w: {"user_id": w.spare.user["id"]}),
    ),
    "GET /api/v1/projects/{project_id}/members": Row(read(), fixed(P + "/members")),
    "POST /api/v1/projects/{project_id}/invitations": Row(
        admin_write(201), fixed(P + "/invitations", {"email": "new@example.com", "role": "member"})
    ),
    "GET /api/v1/projects/{project_id}/invitations": Row(
        expect(200, 200, 403, 403, 404), fixed(P + "/invitations")
    ),
    "DELETE /api/v1/invitations/{invitation_id}": Row(
        admin_write(204), on_invitation(lambda i: f"{API}/invitations/{i}")
    ),
    "GET /api/v1/invitations": Row(any_user(200), fixed(API + "/invitations")),
    # Addressed to someone else: nobody here may answer it (the invitee's own tests are in
    # tests/invitations).
    "POST /api/v1/invitations/accept": Row(
        any_user(403), on_invitation(lambda i: f"{API}/invitations/accept", accept=True)
    ),
    "POST /api/v1/invitations/{invitation_id}/decline": Row(
        any_user(403), on_invitation(lambda i: f"{API}/invitations/{i}/decline")
    ),
    "PATCH /api/v1/projects/{project_id}/members/{user_id}": Row(
        admin_write(200), on_fresh_project("/members/{spare}", lambda w: {"role": "viewer"})
    ),
    "DELETE /api/v1/projects/{project_id}/members/{user_id}": Row(
        admin_write(204), on_fresh_project("/members/{spare}")
    ),
    # -- tasks ---------------------------------------------------------------------------
    "POST /api/v1/projects/{project_id}/tasks": Row(
        member_write(201), fixed(P + "/tasks", {"title": "new"})
    ),
    "GET /api/v1/projects/{project_id}/tasks": Row(read(), fixed(P + "/tasks")),
    "GET /api/v1/tasks/{task_id}": Row(read(), fixed(T)),
    "PATCH /api/v1/tasks/{task_id}": Row(member_write(200), fixed(T, {"priority": "high"})),
    "DELETE /api/v1/tasks/{task_id}": Row(member_write(204), on_fresh("tasks")),
    "POST /api/v1/tasks/{task_id}/move": Row(
        member_write(200), fixed(T + "/move", {"status": "in_progress"})
    ),
    # -- subtasks, relations, my work, export / import, calendar feed -----------------------
    # Only tasks of the caller's own projects: an outsider's "my work" is just empty.
    "GET /api/v1/tasks": Row(any_user(200), fixed(API + "/tasks?assignee=me")),
    "GET /api/v1/tasks/{task_id}/subtasks": Row(read(), fixed(T + "/subtasks")),
    "POST /api/v1/tasks/{task_id}/relations": Row(member_write(201), _new_relation),
    # -- attachments ------------------------------------------------------------------------
    "POST /api/v1/tasks/{task_id}/attachments": Row(member_write(201), _upload),
    "GET /api/v1/tasks/{task_id}/attachments": Row(read(), fixed(T + "/attachments")),
    "GET /api/v1/attachments/{attachment_id}": Row(read(), on_attachment()),
    "GET /api/v1/attachments/{attachment_id}/content": Row(read(), on_attachment("/content")),
    "DELETE /api/v1/attachments/{attachment_id}": Row(member_write(204), on_attachment(fresh=True)),
    "DELETE /api/v1/tasks/{task_id}/relations/{relation_id}": Row(
        member_write(204), _delete_relation
    ),
    "GET /api/v1/projects/{project_id}/export": Row(read(), fixed(P + "/export")),
    "POST /api/v1/projects/import": Row(
        any_user(201),
        fixed(
            API + "/projects/import",
            {"format": "taskmanager.project/1", "project": {"name": "imported"}},
        ),
    ),
    "POST /api/v1/auth/me/calendar-feed": Row(any_user(201), fixed(API + "/auth/me/calendar-feed")),
    # Nobody here has a feed yet (this row runs before the POST one).
    "DELETE /api/v1/auth/me/calendar-feed": Row(
        any_user(404), fixed(API + "/auth/me/calendar-feed")
    ),
    # The secret is the credential: a wrong one is a 404 for everyone, signed in or not.
    "GET /api/v1/calendar/{token}.ics": Row(
        public(404), fixed(API + "/calendar/" + "x" * 43 + ".ics")
    ),
    # -- labels, comments, events, stream ------------------------------------------------
    "GET /api/v1/projects/{project_id}/labels": Row(read(), fixed(P + "/labels")),
    "POST /api/v1/projects/{project_id}/labels": Row(member_write(201), _new_label),
    "PATCH /api/v1/labels/{label_id}": Row(member_write(200), _rename_label),
    "DELETE /api/v1/labels/{label_id}": Row(member_write(204), on_fresh("labels")),
    "GET /api/v1/tasks/{task_id}/comments": Row(read(), fixed(T + "/comments")),
    "POST /api/v1/tasks/{task_id}/comments": Row(
        member_write(201), fixed(T + "/comments", {"body": "hi"})
    ),
    # The comment is the `member`'s own: only its author edits it; admins may delete it.
    "PATCH /api/v1/comments/{comment_id}": Row(
        expect(403, 403, 200, 403, 404), fixed(API + "/comments/{a.comment_id}", {"body": "x"})
    ),
    "DELETE /api/v1/comments/{comment_id}": Row(
        expect(204, 204, 204, 403, 404), on_fresh("comments")
    ),
    "GET /api/v1/projects/{project_id}/events": Row(read(), fixed(P + "/events")),
    # Every signed-in user syncs what they can see (an outsider: nothing of team A).
    "GET /api/v1/sync": Row(any_user(200), fixed(API + "/sync")),
    "GET /api/v1/projects/{project_id}/stream": Row(read(), fixed(P + "/stream")),
    # -- notifications: only one's own; watching a task: any member who can see it --------
    "GET /api/v1/notifications": Row(any_user(200), fixed(API + "/notifications")),
    "GET /api/v1/notifications/unread-count": Row(
        any_user(200), fixed(API + "/notifications/unread-count")
    ),
    "POST /api/v1/notifications/read-all": Row(
        any_user(200), fixed(API + "/notifications/read-all")
    ),
    "POST /api/v1/notifications/{notification_id}/read": Row(any_user(404), _victims_notification),
    "GET /api/v1/notifications/stream": Row(any_user(200), fixed(API + "/notifications/stream")),
    "GET /api/v1/tasks/{task_id}/watch": Row(read(), fixed(T + "/watch")),
    "POST /api/v1/tasks/{task_id}/watch": Row(read(), fixed(T + "/watch")),
    "DELETE /api/v1/tasks/{task_id}/watch": Row(read(204), fixed(T + "/watch")),
    # -- webhooks: the project's admins and owner only ----------------------------------------
    "POST /api/v1/projects/{project_id}/webhooks": Row(
        admin_write(201), fixed(P + "/webhooks", WEBHOOK)
    ),
    "GET /api/v1/projects/{project_id}/webhooks": Row(admin_write(200), fixed(P + "/webhooks")),
    "GET /api/v1/webhooks/{webhook_id}": Row(admin_write(200), on_webhook()),
    "PATCH /api/v1/webhooks/{webhook_id}": Row(
        admin_write(200), on_webhook(body={"description": "edited"})
    ),
    "DELETE /api/v1/webhooks/{webhook_id}": Row(admin_write(204), on_webhook()),
    "GET /api/v1/webhooks/{webhook_id}/deliveries": Row(
        admin_write(200), on_webhook("/deliveries")
    ),
    "POST /api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": Row(
        admin_write(202), on_webhook("/deliveries", delivery=True)
    ),
}
