"""The realtime safety net: live connections re-checked against the log, projects and auth.

Redis pub/sub is only the doorbell. Every REALTIME_CHECK_INTERVAL_SECONDS this compares
each followed project's latest seq with what its subscribers were given, so a lost
notification (Redis down, a writer that died between commit and publish) costs one
interval, never an event; it ends subscriptions whose project or membership is gone, and
closes connections whose session or token ended. Auth answers which credentials are still
live, in one batch per kind, so the cost grows with distinct credentials, not sockets.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Iterable

from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskmanager.auth import service as auth_service
from taskmanager.auth.deps import get_session_store
from taskmanager.membership.models import Membership, Project
from taskmanager.observability.metrics import REDIS_ERRORS
from taskmanager.realtime.connection import CLOSE_UNAUTHORIZED, Connection, Subscription
from taskmanager.realtime.registry import Registry
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.realtime")


class Watchdog:
    def __init__(
        self,
        resources: Resources,
        registry: Registry,
        *,
        catch_up: Callable[[Subscription], None],
    ) -> None:
        self.resources = resources
        self.registry = registry
        self.catch_up = catch_up

    async def run(self) -> None:
        interval = self.resources.settings.realtime_check_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("realtime watchdog round failed", exc_info=True)

    async def check_once(self) -> None:
        registry = self.registry
        if not registry.connections:
            return  # an idle instance costs the database nothing
        project_ids = list(registry.projects)
        token_ids = set(registry.by_token)
        async with self.resources.session_factory() as session:
            latest, members = await _project_state(session, project_ids)
            live_tokens = await auth_service.live_token_ids(session, token_ids)
        self._check_projects(project_ids, latest, members)
        _close(registry.using(tokens=token_ids - live_tokens), "Your token was revoked or expired.")
        await self._check_sessions()

    def _check_projects(
        self,
        project_ids: list[uuid.UUID],
        latest: dict[uuid.UUID, int],
        members: set[tuple[uuid.UUID, uuid.UUID]],
    ) -> None:
        for project_id in project_ids:
            for sub in list(self.registry.subscribers(project_id)):
                connection = sub.connection
                if project_id not in latest:
                    connection.end_subscription(sub, "not_found", "The project was deleted.")
                elif (project_id, connection.identity.user_id) not in members:
                    connection.end_subscription(sub, "forbidden", "You are not a member any more.")
                elif latest[project_id] > sub.last_seq:
                    sub.max_seen = max(sub.max_seen, latest[project_id])
                    self.catch_up(sub)

    async def _check_sessions(self) -> None:
        session_hashes = set(self.registry.by_session)
        if not session_hashes:
            return
        try:
            live = await get_session_store(self.resources).live_sessions(session_hashes)
        except (RedisError, OSError):
            # Sessions cannot be checked while Redis is down; live sockets stay (they get
            # nothing new meanwhile), new requests fail closed.
            REDIS_ERRORS.labels("realtime").inc()
            return
        _close(self.registry.using(sessions=session_hashes - live), "Your session has ended.")


async def _project_state(
    session: AsyncSession, project_ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, int], set[tuple[uuid.UUID, uuid.UUID]]]:
    """Each followed project's latest seq (absent: deleted) and its (project, user) members."""
    if not project_ids:
        return {}, set()
    rows = await session.execute(
        select(Project.id, Project.event_seq).where(Project.id.in_(project_ids))
    )
    latest: dict[uuid.UUID, int] = dict(rows.all())
    member_rows = await session.execute(
        select(Membership.project_id, Membership.user_id).where(
            Membership.project_id.in_(project_ids)
        )
    )
    return latest, {(project_id, user_id) for project_id, user_id in member_rows}


def _close(connections: Iterable[Connection], reason: str) -> None:
    for connection in connections:
        connection.close(CLOSE_UNAUTHORIZED, reason)
