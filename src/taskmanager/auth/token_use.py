"""Recording when an API token was last used, without turning a read into a write."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from taskmanager.auth.models import ApiToken
from taskmanager.uow import UnitOfWork

logger = logging.getLogger("taskmanager.auth")


def mark_token_used(session: AsyncSession, token: ApiToken, now: dt.datetime) -> None:
    """Set `last_used_at` in a short transaction of its own, after the request's commits.

    The request's own session is often a read one (a GET, a WebSocket handshake): on SQLite
    a read transaction that tries to write fails at once with "database is locked" while
    another writer (a job) holds the lock, which would turn a token's first use into a 503.
    A separate write waits for the lock like any writer, and failing it only costs the
    timestamp, never the request. The row object shows the new value without being dirtied.
    """
    set_committed_value(token, "last_used_at", now)
    uow = UnitOfWork.find(session)
    if uow is None:  # a script's plain session: write in its transaction
        token.last_used_at = now
        return
    engine = session.bind
    token_id = token.id

    async def write() -> None:
        await _write_last_used(AsyncSession(engine), token_id, now)

    uow.call_after_commit(write)


async def _write_last_used(session: AsyncSession, token_id: uuid.UUID, now: dt.datetime) -> None:
    try:
        async with session:
            await session.connection(execution_options={"sqlite_immediate": True})
            await session.execute(
                update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now)
            )
            await session.commit()
    except SQLAlchemyError:
        logger.warning("recording an API token's last use failed", exc_info=True)
