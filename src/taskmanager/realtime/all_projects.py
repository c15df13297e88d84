"""`subscribe_all`: one WebSocket subscription that follows every project its user can see.

It is made of the per-project machinery: one Subscription per visible project (seq checks,
catch-up from the log, the watchdog), plus a Follower per connection that

- starts from a GET /sync cursor (or from now), following each project from its seq;
- adds projects the user joins while connected: the hub hands it every `member.added` it
  sees (pub/sub carries all projects' events to every instance), and a periodic check of
  the memberships catches what a lost notification missed. An added project is sent whole
  (`project_added`, then `snapshot` frames), then its events;
- turns a subscription's end (left, removed, deleted) into `project_removed`, and a gap the
  log can no longer fill into a fresh snapshot of that project rather than an error;
- sends `cursor` frames: a /sync cursor of exactly what came before it in the stream,
  shortly after events (debounced), to resume from after a disconnect.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.errors import AppError
from taskmanager.events.schemas import MAX_SEQ
from taskmanager.membership.models import Membership, Project
from taskmanager.realtime.connection import Connection, LiveEvent, Subscription
from taskmanager.sync import cursor as cursors
from taskmanager.sync import snapshot as snapshots
from taskmanager.sync.service import reconcile, visible_projects
from taskmanager.tasks.reads import render

if TYPE_CHECKING:
    from taskmanager.realtime.hub import Hub

logger = logging.getLogger("taskmanager.realtime")

SNAPSHOT_FRAME_ROWS = 200
CURSOR_DELAY_SECONDS = 0.05
"""Events delivered within this long share one cursor frame."""


@dataclass(eq=False, slots=True)
class FollowedSubscription(Subscription):
    """A project followed for a Follower: tells it when an event went out."""

    follower: Follower | None = None

    def deliver(self, event: LiveEvent) -> bool:
        # Not super(): slots dataclasses are rebuilt, which breaks its zero-argument form.
        queued = Subscription.deliver(self, event)
        if queued and self.follower is not None:
            self.follower.moved()
        return queued


class Follower:
    """One connection's subscribe_all (see the module docstring)."""

    def __init__(self, manager: AllProjects, connection: Connection) -> None:
        self.manager = manager
        self.hub = manager.hub
        self.resources = manager.hub.resources
        self.connection = connection
        self.user_id = connection.identity.user_id
        # Followed projects; `ready` are those whose snapshot (if any) is out, so their
        # subscription's last_seq is what the client has.
        self.projects: set[uuid.UUID] = set()
        self.ready: set[uuid.UUID] = set()
        self.active = True
        # Until start() has followed what was visible, joins are left to the next check.
        self.started = False
        self._flush: asyncio.TimerHandle | None = None
        self._adding: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        self._adder: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.active and self.connection.close_code is None

    def join(self, project_id: uuid.UUID) -> None:
        """The user can see a project (a `member.added`, or the membership check)."""
        if self.started:
            self.add(project_id)

    # -- starting ------------------------------------------------------------------------
    async def start(self, cursor: cursors.SyncCursor | None) -> None:
        factory = self.resources.read_session_factory or self.resources.session_factory
        async with factory() as db:
            visible = await visible_projects(db, self.user_id)
        if cursor is None:
            seqs = {p: v.seq for p, v in visible.items()}
            removed: list[uuid.UUID] = []
            fresh: set[uuid.UUID] = set()
        else:
            seqs, _, removed, fresh = reconcile(cursor, visible)
            # Ahead of the log (another database, a restore): that project starts over.
            ahead = {p for p, s in seqs.items() if s > visible[p].seq}
            fresh |= ahead
            seqs = {p: s for p, s in seqs.items() if p not in ahead}
        # From here to the replies nothing awaits, so no event can overtake them.
        for project_id, seq in seqs.items():
            sub = self._follow(project_id)
            sub.last_seq = seq
            self.ready.add(project_id)
            if seq < visible[project_id].seq:
                # Behind: replay from the log (a pruned gap comes back as resync_required,
                # which `ended` turns into a fresh snapshot).
                self.hub.start_catch_up(sub, force=True)
            else:
                sub.catching_up = False
                if sub.max_seen > sub.last_seq:
                    self.hub.start_catch_up(sub)
        self.connection.send_control(
            {"type": "subscribed_all", "projects": sorted(map(str, self.projects))}
        )
        for project_id in removed:
            self.connection.send_control({"type": "project_removed", "project_id": str(project_id)})
        self.send_cursor()
        self.started = True
        for project_id in sorted(fresh):
            self.add(project_id)

    def _follow(self, project_id: uuid.UUID) -> FollowedSubscription:
        sub = FollowedSubscription(project_id=project_id, connection=self.connection, follower=self)
        self.hub.registry.follow(sub)
        self.projects.add(project_id)
        return sub

    # -- joining -------------------------------------------------------------------------
    def add(self, project_id: uuid.UUID) -> None:
        """Follow a project the user can now see: its snapshot first, then its events."""
        if not self.alive or project_id in self.projects:
            return
        self.projects.add(project_id)
        self._adding.put_nowait(project_id)
        if self._adder is None or self._adder.done():
            self._adder = asyncio.create_task(self._add_queued(), name="realtime-add-project")

    async def _add_queued(self) -> None:
        while not self._adding.empty() and self.alive:
            project_id = self._adding.get_nowait()
            try:
                await self._add(project_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("subscribe_all: adding project %s failed", project_id)
                self.projects.discard(project_id)

    async def _add(self, project_id: uuid.UUID) -> None:
        sub = self._follow(project_id)  # before reading the seq: nothing after it is missed
        self.ready.discard(project_id)
        async with self.resources.session_factory() as db:
            seq = await db.scalar(
                select(Project.event_seq)
                .join(Membership, Membership.project_id == Project.id)
                .where(Project.id == project_id, Membership.user_id == self.user_id)
            )
            if seq is None:
                self.hub.drop(sub)
                self.projects.discard(project_id)
                return
            self.connection.send_control(
                {"type": "project_added", "project_id": str(project_id), "seq": seq}
            )
            await self._send_snapshot(db, project_id, sub)
        if not sub.active or not self.alive:
            return
        sub.last_seq = seq
        self.ready.add(project_id)
        self.send_cursor()
        self.hub.start_catch_up(sub, force=True)

    async def _send_snapshot(
        self, db: AsyncSession, project_id: uuid.UUID, sub: Subscription
    ) -> None:
        """The project's rows, read after its seq was: events after that seq then apply."""
        nil = uuid.UUID(int=0)
        scope = snapshots.Scope(self.user_id, [project_id], nil, nil)
        for phase, name in enumerate(snapshots.PHASES):
            scope.after_project = scope.after_row = nil
            while sub.active:
                rows = await snapshots.read_phase(db, phase, scope, SNAPSHOT_FRAME_ROWS)
                if not rows.items:
                    break
                await self.connection.wait_writable()
                frame = {"type": "snapshot", "project_id": project_id, name: rows.items}
                self.connection.send_control(orjson.loads(render(frame)))
                if len(rows.items) < SNAPSHOT_FRAME_ROWS:
                    break
                scope.after_project, scope.after_row = rows.keys[-1]

    # -- leaving -------------------------------------------------------------------------
    def ended(self, sub: Subscription, code: str) -> bool:
        """A subscription of ours ended (the hub has dropped it); True if handled here."""
        if not isinstance(sub, FollowedSubscription) or sub.follower is not self:
            return False
        project_id = sub.project_id
        self.projects.discard(project_id)
        self.ready.discard(project_id)
        if not self.alive:
            return True
        if code == "resync_required":
            self.add(project_id)  # the log cannot fill the gap: the project again, whole
        else:
            self.connection.send_control({"type": "project_removed", "project_id": str(project_id)})
            self.send_cursor()
        return True

    def stop(self) -> None:
        self.active = False
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if self._adder is not None:
            self._adder.cancel()
        for sub in list(self.connection.subscriptions.values()):
            if isinstance(sub, FollowedSubscription) and sub.follower is self:
                self.hub.drop(sub)
        self.projects.clear()
        self.ready.clear()

    # -- cursor frames -------------------------------------------------------------------
    def moved(self) -> None:
        if self._flush is None and self.alive:
            loop = asyncio.get_running_loop()
            self._flush = loop.call_later(CURSOR_DELAY_SECONDS, self.send_cursor)

    def send_cursor(self) -> None:
        """Queue a cursor of exactly what the client has been sent so far."""
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        if not self.alive:
            return
        seqs = {
            project_id: sub.last_seq
            for project_id in self.ready
            if (sub := self.connection.subscriptions.get(project_id)) is not None
        }
        position = cursors.SyncCursor(seqs=seqs, issued_at=utcnow())
        text = cursors.encode(self.resources.secret_key, self.user_id, position)
        self.connection.send_control({"type": "cursor", "cursor": text})


class AllProjects:
    """The hub's followers: found by user for `member.added`, checked against memberships."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.by_user: dict[uuid.UUID, set[Follower]] = {}
        self.by_connection: dict[Connection, Follower] = {}

    async def subscribe(self, connection: Connection, cursor: cursors.SyncCursor | None) -> None:
        previous = self.by_connection.get(connection)
        if previous is not None:
            self._forget(previous)
        follower = Follower(self, connection)
        self.by_connection[connection] = follower
        self.by_user.setdefault(follower.user_id, set()).add(follower)
        connection.follower = follower
        await follower.start(cursor)

    def _forget(self, follower: Follower) -> None:
        follower.stop()
        self.by_connection.pop(follower.connection, None)
        followers = self.by_user.get(follower.user_id)
        if followers is not None:
            followers.discard(follower)
            if not followers:
                del self.by_user[follower.user_id]
        if follower.connection.follower is follower:
            follower.connection.follower = None

    def forget(self, connection: Connection) -> None:
        follower = self.by_connection.get(connection)
        if follower is not None:
            self._forget(follower)

    def seen(self, event: LiveEvent) -> None:
        """Every event the hub receives: a `member.added` may be one of ours joining."""
        if event.name != "member.added" or not self.by_user:
            return
        user = event.data.get("user")
        try:
            user_id = uuid.UUID(user["id"]) if isinstance(user, dict) else None
        except (KeyError, TypeError, ValueError):
            return
        for follower in list(self.by_user.get(user_id, ()) if user_id else ()):
            follower.join(event.project_id)

    def joined(self, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
        """A join no event announces (the user created the project), from the user channel."""
        for follower in list(self.by_user.get(user_id, ())):
            follower.join(project_id)

    async def run(self) -> None:
        """The safety net for joins whose `member.added` never arrived (Redis down)."""
        interval = self.hub.resources.settings.realtime_check_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("subscribe_all membership check failed", exc_info=True)

    async def check_once(self) -> None:
        for follower in [f for f in self.by_connection.values() if not f.alive]:
            self._forget(follower)
        if not self.by_user:
            return
        async with self.hub.resources.session_factory() as db:
            rows = await db.execute(
                select(Membership.user_id, Membership.project_id).where(
                    Membership.user_id.in_(list(self.by_user))
                )
            )
        visible: dict[uuid.UUID, set[uuid.UUID]] = {}
        for user_id, project_id in rows:
            visible.setdefault(user_id, set()).add(project_id)
        for user_id, followers in list(self.by_user.items()):
            for follower in list(followers):
                for project_id in sorted(visible.get(user_id, set()) - follower.projects):
                    follower.join(project_id)


async def handle_subscribe_all(message: dict[str, Any], connection: Connection, hub: Hub) -> None:
    """`{"type": "subscribe_all", "cursor"?, "after"?}` from a client."""
    text = message.get("cursor")
    position = None
    if text is not None:
        try:
            if not isinstance(text, str):
                raise cursors.InvalidCursor()
            position = cursors.decode(hub.resources.secret_key, connection.identity.user_id, text)
        except AppError:
            connection.send_control(_bad_request("cursor is not a valid sync cursor."))
            return
        if position.snapshot is not None:
            connection.send_control(
                _bad_request(
                    "That cursor is mid-bootstrap: call GET /sync until has_more is false."
                )
            )
            return
        after = _after(message.get("after"))
        if after is None:
            connection.send_control(
                _bad_request("after must map project ids to the last seq you applied.")
            )
            return
        # Only forward, and only for projects the signed cursor has: nothing is gained by
        # lying (visibility is checked anyway), and an exact resume repeats no event.
        for project_id, seq in after.items():
            if seq > position.seqs.get(project_id, seq):
                position.seqs[project_id] = seq
    elif "after" in message:
        connection.send_control(_bad_request("after needs a cursor."))
        return
    await hub.all_projects.subscribe(connection, position)


def _after(value: Any) -> dict[uuid.UUID, int] | None:
    """`{"<project id>": seq}` (absent: empty); None if malformed."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > cursors.MAX_CURSOR_CHARS:
        return None
    parsed: dict[uuid.UUID, int] = {}
    for key, seq in value.items():
        if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
            return None
        try:
            parsed[uuid.UUID(key)] = seq
        except ValueError:
            return None
    return parsed


def _bad_request(text: str) -> dict[str, Any]:
    return {"type": "error", "code": "bad_request", "message": text}
