"""Delta sync across projects: bootstrap snapshots and events after a vector cursor.

One call costs a fixed number of statements however many projects the caller has: one for
the visible projects (with their latest seq and when the caller joined), the snapshot
phases it reaches (one each), and one for the events of every project that is behind,
joined to a VALUES list of (project, after seq, up to seq) ranges that add up to `limit`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Uuid, and_, column, select, values
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.db import utcnow
from taskmanager.errors import Gone
from taskmanager.events.models import Event
from taskmanager.membership.models import Membership, Project
from taskmanager.sync import snapshot as snapshots
from taskmanager.sync.cursor import SnapshotPosition, SyncCursor

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


class ResyncRequired(Gone):
    code = "resync_required"

    def __init__(self) -> None:
        super().__init__(
            "The cursor is older than the retained event log (or not from this server); "
            "bootstrap again without a cursor."
        )


@dataclass(slots=True)
class Visible:
    seq: int
    joined_at: dt.datetime


@dataclass(slots=True)
class SyncPage:
    """What one /sync call returns (the router renders it; `cursor` is not yet encoded)."""

    cursor: SyncCursor
    events: list[dict[str, Any]] = field(default_factory=list)
    snapshot: dict[str, list[dict[str, Any]]] | None = None
    has_more: bool = False
    added: list[uuid.UUID] = field(default_factory=list)
    removed: list[uuid.UUID] = field(default_factory=list)


async def visible_projects(session: AsyncSession, user_id: uuid.UUID) -> dict[uuid.UUID, Visible]:
    """Every project the user is a member of: its latest seq and when they joined."""
    rows = await session.execute(
        select(Membership.project_id, Project.event_seq, Membership.created_at)
        .join(Project, Project.id == Membership.project_id)
        .where(Membership.user_id == user_id)
    )
    return {project_id: Visible(seq, joined_at) for project_id, seq, joined_at in rows}


def reconcile(
    cursor: SyncCursor, visible: dict[uuid.UUID, Visible]
) -> tuple[dict[uuid.UUID, int], SnapshotPosition | None, list[uuid.UUID], set[uuid.UUID]]:
    """Compare a cursor with what the caller sees now.

    Returns the synced seqs still visible, the snapshot in progress (pruned the same way),
    the projects to report removed, and those to snapshot anew: joined since, or re-joined
    (a membership newer than the cursor: they get a fresh snapshot rather than the events
    of the time they were not a member).
    """
    known = cursor.projects()
    rejoined = {p for p in known if p in visible and visible[p].joined_at > cursor.issued_at}
    removed = sorted(p for p in known if p not in visible or p in rejoined)
    gone = set(removed)
    seqs = {p: s for p, s in cursor.seqs.items() if p not in gone}
    snap = cursor.snapshot
    if snap is not None:
        snap.seqs = {p: s for p, s in snap.seqs.items() if p not in gone}
        if not snap.seqs:
            snap = None
    fresh = set(visible) - (known - gone)
    return seqs, snap, removed, fresh


async def sync(
    session: AsyncSession, *, user_id: uuid.UUID, cursor: SyncCursor | None, limit: int
) -> SyncPage:
    """One page of sync for `user_id` from `cursor` (None: a bootstrap)."""
    visible = await visible_projects(session, user_id)
    # Issued once the memberships were read, and never before one of them: a membership
    # stamped after this call began but committed before its read would otherwise look
    # newer than the cursor next time, a re-join (the project removed, then added whole).
    now = max([utcnow(), *(v.joined_at for v in visible.values())])
    if cursor is None:
        cursor = SyncCursor(seqs={}, issued_at=now)
    seqs, snap, removed, fresh = reconcile(cursor, visible)
    for project_id, seq in seqs.items():
        if seq > visible[project_id].seq:
            raise ResyncRequired()  # ahead of the log: another database, or a restore
    page = SyncPage(cursor=SyncCursor(seqs=seqs, issued_at=now), removed=removed)
    if fresh and snap is None:
        # Newly visible projects appear whole: snapshot them at their current seq, then
        # follow their events from there. Joins during a snapshot wait for the next one.
        snap = SnapshotPosition(seqs={p: visible[p].seq for p in fresh})
        page.added = sorted(fresh)
        fresh = set()
    budget = limit
    if snap is not None:
        budget = await _snapshot_page(session, user_id, snap, page, budget)
        if snap.phase >= len(snapshots.PHASES):
            seqs.update(snap.seqs)
        else:
            page.cursor.snapshot = snap
    # Seqs are gap-free, so how many events each project owes is known before reading:
    # the page takes exact seq ranges, project by project, until `limit` is reached.
    ranges: list[tuple[uuid.UUID, int, int]] = []
    for project_id, seq in sorted(seqs.items()):
        latest = visible[project_id].seq
        if seq < latest:
            if budget == 0:
                page.has_more = True
                break
            take = min(latest - seq, budget)
            ranges.append((project_id, seq, seq + take))
            budget -= take
            if seq + take < latest:
                page.has_more = True
    if ranges:
        await _events_page(session, ranges, seqs, page)
    page.has_more = page.has_more or page.cursor.snapshot is not None or bool(fresh)
    return page


async def _snapshot_page(
    session: AsyncSession,
    user_id: uuid.UUID,
    snap: SnapshotPosition,
    page: SyncPage,
    budget: int,
) -> int:
    """Fill `page.snapshot` with up to `budget` rows, advancing `snap`; the budget left."""
    page.snapshot = {name: [] for name in snapshots.PHASES}
    while budget > 0 and snap.phase < len(snapshots.PHASES):
        phase = snap.phase
        scope = snapshots.Scope(user_id, list(snap.seqs), snap.after_project, snap.after_row)
        rows = await snapshots.read_phase(session, phase, scope, budget + 1)
        if len(rows.items) > budget:
            del rows.items[budget:], rows.keys[budget:]
            snap.after_project, snap.after_row = rows.keys[-1]
        else:
            snap.phase += 1
            snap.after_project = snap.after_row = uuid.UUID(int=0)
        page.snapshot[snapshots.PHASES[phase]].extend(rows.items)
        budget -= len(rows.items)
    return budget


async def _events_page(
    session: AsyncSession,
    ranges: list[tuple[uuid.UUID, int, int]],
    seqs: dict[uuid.UUID, int],
    page: SyncPage,
) -> None:
    """The events of each (project, after, upto) range, in (project, seq) order, into `page`
    and `seqs`: one statement, exactly the rows asked for (index range scans).

    A range that does not come back whole was pruned (or the project deleted meanwhile):
    the cursor cannot be continued. Checked on the rows themselves, so a prune racing this
    read cannot open a gap.
    """
    wanted = values(
        column("project_id", Uuid()),
        column("after_seq", BigInteger()),
        column("upto_seq", BigInteger()),
        name="wanted",
    ).data(ranges)
    wanted_cte = wanted.cte("wanted")
    stmt = (
        select(
            Event.project_id,
            Event.seq,
            Event.name,
            Event.actor_id,
            Event.request_id,
            Event.at,
            Event.data,
        )
        .join(
            wanted_cte,
            and_(
                Event.project_id == wanted_cte.c.project_id,
                Event.seq > wanted_cte.c.after_seq,
                Event.seq <= wanted_cte.c.upto_seq,
            ),
        )
        .order_by(Event.project_id, Event.seq)
    )
    for project_id, seq, name, actor_id, request_id, at, data in await session.execute(stmt):
        if seq != seqs[project_id] + 1:
            raise ResyncRequired()
        seqs[project_id] = seq
        page.events.append(
            {
                "type": "event",
                "project_id": project_id,
                "seq": seq,
                "name": name,
                "actor_id": actor_id,
                "request_id": request_id,
                "at": at,
                "data": data,
            }
        )
    if any(seqs[project_id] != upto for project_id, _, upto in ranges):
        raise ResyncRequired()
