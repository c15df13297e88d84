"""GET /sync: bootstrap pages, deltas in seq order, joins and leaves, cursors, retention."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, update

from taskmanager.db import utcnow
from taskmanager.events.models import Event
from taskmanager.membership.models import Membership
from tests.helpers import (
    API,
    ApiClient,
    add_member,
    assert_problem,
    create_project,
    create_task,
)
from tests.server import RunningServer
from tests.sync.replica import Replica, server_state, sync_all

URL = f"{API}/sync"


async def _user(make_client: Callable[[], ApiClient]) -> ApiClient:
    client = make_client()
    await client.register()
    return client


async def _page(client: ApiClient, **params: Any) -> dict[str, Any]:
    response = await client.get(URL, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_bootstrap_pages_then_deltas(make_client: Callable[[], ApiClient]) -> None:
    alice = await _user(make_client)
    first = await create_project(alice, "First")
    second = await create_project(alice, "Second")
    for i in range(7):
        await create_task(alice, first["id"], f"a{i}")
    for i in range(4):
        await create_task(alice, second["id"], f"b{i}")
    label = await alice.post(
        f"{API}/projects/{first['id']}/labels", json={"name": "docs", "color": "#1f77b4"}
    )
    assert label.status_code == 201

    replica = Replica()
    pages: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": 3}
        if replica.cursor:
            params["cursor"] = replica.cursor
        page = await _page(alice, **params)
        pages.append(page)
        replica.apply_page(page)
        if not page["has_more"]:
            break
    # 2 projects + 2 members + 1 label + 11 tasks = 16 rows, 3 a page.
    assert len(pages) == 6
    assert set(pages[0]) == {"events", "snapshot", "cursor", "has_more", "projects"}
    assert sorted(pages[0]["projects"]["added"]) == sorted([first["id"], second["id"]])
    rows = [row for page in pages for rows in page["snapshot"].values() for row in rows]
    assert len(rows) == 16
    assert all(sum(map(len, page["snapshot"].values())) <= 3 for page in pages)
    assert replica.state() == await server_state(alice)
    assert {p["id"]: p["role"] for p in pages[0]["snapshot"]["projects"]} == {
        first["id"]: "owner",
        second["id"]: "owner",
    }

    # Nothing new: an empty delta with the same meaning.
    empty = await _page(alice, cursor=replica.cursor)
    assert empty["events"] == [] and empty["snapshot"] is None and not empty["has_more"]
    assert empty["projects"] == {"added": [], "removed": []}

    # Writes in both projects come back per project in seq order, paged by `limit`.
    task = await create_task(alice, first["id"], "new")
    for i in range(3):
        await create_task(alice, second["id"], f"c{i}")
    patched = await alice.patch(f"{API}/tasks/{task['id']}", json={"title": "renamed"})
    assert patched.status_code == 200
    seen: list[tuple[str, int]] = []
    while True:
        page = await _page(alice, cursor=replica.cursor, limit=2)
        assert len(page["events"]) <= 2
        seen += [(e["project_id"], e["seq"]) for e in page["events"]]
        replica.apply_page(page)
        if not page["has_more"]:
            break
    assert len(seen) == 5
    for pid in (first["id"], second["id"]):
        seqs = [seq for p, seq in seen if p == pid]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert replica.state() == await server_state(alice)
    assert replica.tasks[first["id"]][task["id"]]["title"] == "renamed"


async def test_join_appears_whole_and_leave_is_removed(
    make_client: Callable[[], ApiClient],
) -> None:
    owner, bob = await _user(make_client), await _user(make_client)
    shared = await create_project(owner, "Shared")
    for i in range(5):
        await create_task(owner, shared["id"], f"t{i}")
    own = await create_project(bob, "Bob's own")
    replica = Replica()
    await sync_all(bob, replica)
    assert set(replica.projects) == {own["id"]}

    await add_member(owner, shared["id"], bob, "member")
    page = await _page(bob, cursor=replica.cursor)
    assert page["projects"] == {"added": [shared["id"]], "removed": []}
    assert len(page["snapshot"]["tasks"]) == 5
    assert {m["user"]["id"] for m in page["snapshot"]["members"]} == {
        owner.user["id"],
        bob.user["id"],
    }
    replica.apply_page(page)
    await sync_all(bob, replica)
    assert replica.state() == await server_state(bob)

    # Events of the joined project follow from where its snapshot was taken.
    await create_task(owner, shared["id"], "after the join")
    await sync_all(bob, replica)
    assert replica.state() == await server_state(bob)

    left = await bob.delete(f"{API}/projects/{shared['id']}/members/{bob.user['id']}")
    assert left.status_code == 204
    await create_task(owner, shared["id"], "after the leave")
    page = await _page(bob, cursor=replica.cursor)
    assert page["projects"] == {"added": [], "removed": [shared["id"]]}
    assert all(e["project_id"] != shared["id"] for e in page["events"])
    replica.apply_page(page)
    assert replica.state() == await server_state(bob)

    # Re-joined: whole again (a fresh snapshot, not the events of the time away).
    await create_task(owner, shared["id"], "while away")
    await add_member(owner, shared["id"], bob, "viewer")
    page = await _page(bob, cursor=replica.cursor)
    assert page["projects"]["added"] == [shared["id"]]
    assert page["events"] == []
    replica.apply_page(page)
    await sync_all(bob, replica)
    assert replica.state() == await server_state(bob)

    # A deleted project is removed too.
    gone = await owner.delete(f"{API}/projects/{shared['id']}")
    assert gone.status_code == 204
    page = await _page(bob, cursor=replica.cursor)
    assert page["projects"]["removed"] == [shared["id"]]


async def test_rejoin_while_cursor_lags(make_client: Callable[[], ApiClient]) -> None:
    """Left and re-joined between two syncs: removed and added in one response."""
    owner, bob = await _user(make_client), await _user(make_client)
    shared = await create_project(owner, "Shared")
    await add_member(owner, shared["id"], bob, "member")
    replica = Replica()
    await sync_all(bob, replica)
    await bob.delete(f"{API}/projects/{shared['id']}/members/{bob.user['id']}")
    await create_task(owner, shared["id"], "secret while away")
    await add_member(owner, shared["id"], bob, "member")
    page = await _page(bob, cursor=replica.cursor)
    assert page["projects"] == {"added": [shared["id"]], "removed": [shared["id"]]}
    assert page["events"] == []
    replica.apply_page(page)
    assert replica.state() == await server_state(bob)


async def test_a_membership_read_by_a_sync_is_no_rejoin_for_its_cursor(
    make_client: Callable[[], ApiClient], server: RunningServer
) -> None:
    """A membership is stamped before its transaction commits, so a sync that began first
    can still read it: its cursor must not take it for a later re-join."""
    alice = await _user(make_client)
    project = await create_project(alice, "Fresh")
    # Stamped after the sync below begins (as by a commit that waited, or another clock).
    async with server.resources.session_factory() as db:
        await db.execute(
            update(Membership)
            .where(Membership.project_id == uuid.UUID(project["id"]))
            .values(created_at=utcnow() + dt.timedelta(seconds=1))
        )
        await db.commit()
    replica = Replica()
    await sync_all(alice, replica)
    assert set(replica.projects) == {project["id"]}
    page = await _page(alice, cursor=replica.cursor)
    assert page["projects"] == {"added": [], "removed": []}


async def test_other_teams_never_visible(make_client: Callable[[], ApiClient]) -> None:
    alice, mallory = await _user(make_client), await _user(make_client)
    secret = await create_project(alice, "Secret")
    await create_task(alice, secret["id"], "hidden")
    replica = Replica()
    await sync_all(mallory, replica)
    assert replica.projects == {}
    await create_task(alice, secret["id"], "hidden too")
    page = await _page(mallory, cursor=replica.cursor)
    assert page["events"] == [] and page["snapshot"] is None
    assert page["projects"] == {"added": [], "removed": []}
    # Alice's cursor is hers: Mallory cannot use it (signed for one user).
    alices = await _page(alice)
    assert_problem(await mallory.get(URL, params={"cursor": alices["cursor"]}), 422, field="cursor")


async def test_tampered_and_malformed_cursors(make_client: Callable[[], ApiClient]) -> None:
    alice = await _user(make_client)
    project = await create_project(alice, "P")
    await create_task(alice, project["id"], "t")
    cursor = (await _page(alice))["cursor"]
    body, _, tag = cursor.partition(".")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-3] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (
        f"{flipped}.{tag}",
        f"{body}.{tag[:-1]}A" if tag[-1] != "A" else f"{body}.{tag[:-1]}B",
        body,
        "not-a-cursor",
        f"{body}!.{tag}",
        "x" * 20_000,
    ):
        problem = assert_problem(await alice.get(URL, params={"cursor": bad}), 422, field="cursor")
        assert problem["code"] in {"invalid_cursor", "validation_failed"}
    for limit in (0, 1001, "x"):
        assert_problem(await alice.get(URL, params={"limit": limit}), 422, field="limit")
    anonymous = make_client()
    assert_problem(await anonymous.get(URL), 401)


async def test_cursor_past_retention_is_410(
    make_client: Callable[[], ApiClient], server: RunningServer
) -> None:
    alice = await _user(make_client)
    project = await create_project(alice, "Pruned")
    replica = Replica()
    await sync_all(alice, replica)
    for i in range(4):
        await create_task(alice, project["id"], f"t{i}")
    stale = replica.cursor
    # What the retention job does to old events (tests/events covers the job itself).
    async with server.resources.session_factory() as db:
        await db.execute(
            delete(Event).where(Event.project_id == uuid.UUID(project["id"]), Event.seq <= 2)
        )
        await db.commit()
    problem = assert_problem(await alice.get(URL, params={"cursor": stale}), 410)
    assert problem["code"] == "resync_required"
    # Starting over works, and the new cursor is good.
    fresh = Replica()
    await sync_all(alice, fresh)
    assert fresh.state() == await server_state(alice)
    await create_task(alice, project["id"], "after")
    await sync_all(alice, fresh)
    assert fresh.state() == await server_state(alice)


async def test_cursor_is_compact_for_many_projects(make_client: Callable[[], ApiClient]) -> None:
    alice = await _user(make_client)
    for i in range(40):
        await create_project(alice, f"P{i}")
    replica = Replica()
    await sync_all(alice, replica)
    assert replica.cursor is not None
    assert len(replica.projects) == 40
    # 16-byte ids do not compress: ~22 characters per project, and no more.
    assert len(replica.cursor) < 40 * 26
