"""The unit of work: one transaction, committed once, then the messages it queued published.

Every write goes through `unit_of_work`: a request through `get_session` (the dependency
behind `db.SessionDep`), the seed and background jobs directly. `append_event` queues the
event's message on the unit of work of its session; only after the commit succeeds are
the queued messages published, in one pipelined round trip and in the order they were
queued (seq order per project). A rollback discards them. Publishing is best effort: the
rows are durable, and every hub's watchdog delivers what a lost message did not.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from fastapi import Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskmanager.observability.metrics import EVENTS_DROPPED, EVENTS_PUBLISHED, REDIS_ERRORS
from taskmanager.state import Resources

logger = logging.getLogger("taskmanager.events")

Message = tuple[str, bytes]
"""(channel, payload) as published."""

_INFO_KEY = "taskmanager.unit_of_work"


class NoUnitOfWork(RuntimeError):
    """A write that must publish ran on a session no unit of work owns: a programming error
    (an event would be committed and never announced), so it fails loudly instead."""


class Publisher(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish committed messages; must not raise (the data is durable already)."""


class RedisPublisher:
    """Publishes to Redis pub/sub, pipelined; failures are counted and logged, not raised."""

    __slots__ = ("redis",)

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def publish(self, messages: Sequence[Message]) -> None:
        if not messages:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for channel, payload in messages:
                    pipe.publish(channel, payload)
                await pipe.execute()
        except Exception:
            # Not retried: every hub's watchdog finds the gap from the log's seqs.
            EVENTS_DROPPED.labels("publish_failed").inc(len(messages))
            REDIS_ERRORS.labels("publish").inc()
            logger.warning("publishing %d event(s) failed", len(messages), exc_info=True)
        else:
            EVENTS_PUBLISHED.inc(len(messages))


class UnitOfWork:
    """One session's transaction and the messages to publish once it has committed."""

    __slots__ = (
        "_after_commit",
        "_before_commit",
        "_jobs_enqueued",
        "_outbox",
        "publisher",
        "session",
        "wake_jobs",
    )

    def __init__(
        self,
        session: AsyncSession,
        publisher: Publisher,
        wake_jobs: Callable[[], None] | None = None,
    ) -> None:
        self.session = session
        self.publisher = publisher
        # The local job worker's wake-up: a job committed here runs now, not at the next poll.
        self.wake_jobs = wake_jobs
        self._outbox: list[Message] = []
        self._jobs_enqueued = False
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._before_commit: dict[str, Callable[[], Awaitable[None]]] = {}
        # session.info is SQLAlchemy's slot for owner data; only this module reads the key.
        session.info[_INFO_KEY] = self

    @staticmethod
    def of(session: AsyncSession) -> UnitOfWork:
        """The unit of work that owns `session`; raises NoUnitOfWork if none does."""
        uow = session.info.get(_INFO_KEY)
        if not isinstance(uow, UnitOfWork):
            raise NoUnitOfWork(
                "this session has no publisher: open it with taskmanager.uow.unit_of_work()"
            )
        return uow

    @staticmethod
    def find(session: AsyncSession) -> UnitOfWork | None:
        """The unit of work that owns `session`, if any (for optional after-commit work)."""
        uow = session.info.get(_INFO_KEY)
        return uow if isinstance(uow, UnitOfWork) else None

    def publish_after_commit(self, channel: str, payload: bytes) -> None:
        self._outbox.append((channel, payload))

    def call_after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` once the transaction has committed (never if it rolls back), before
        the response is sent: for effects outside the database, such as ending sessions."""
        self._after_commit.append(callback)

    def call_before_commit(self, key: str, callback: Callable[[], Awaitable[None]]) -> None:
        """Run `callback` in this transaction, last, just before it commits; once per `key`
        however often it is asked for. For work best done once per transaction, such as
        taking row locks in one fixed order (no deadlock between transactions)."""
        self._before_commit.setdefault(key, callback)

    def job_enqueued(self) -> None:
        """A job row was added in this transaction: wake the local worker after the commit."""
        self._jobs_enqueued = True

    async def commit(self) -> None:
        callbacks_before, self._before_commit = list(self._before_commit.values()), {}
        for before in callbacks_before:
            await before()
        await self.session.commit()
        messages, self._outbox = self._outbox, []
        await self.publisher.publish(messages)
        if self._jobs_enqueued and self.wake_jobs is not None:
            self._jobs_enqueued = False
            self.wake_jobs()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            await callback()

    async def rollback(self) -> None:
        self._outbox.clear()
        self._before_commit.clear()
        self._after_commit.clear()
        self._jobs_enqueued = False
        await self.session.rollback()


@asynccontextmanager
async def open_unit_of_work(
    factory: async_sessionmaker[AsyncSession],
    publisher: Publisher,
    *,
    immediate: bool = False,
    wake_jobs: Callable[[], None] | None = None,
) -> AsyncIterator[UnitOfWork]:
    """Commit (then publish) when the block ends normally, roll back if it raises.

    `immediate` takes SQLite's write lock at BEGIN, so writers queue instead of failing.
    """
    async with factory() as session:
        uow = UnitOfWork(session, publisher, wake_jobs)
        if immediate:
            await session.connection(execution_options={"sqlite_immediate": True})
        try:
            yield uow
        except BaseException:
            await uow.rollback()
            raise
        await uow.commit()


READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: services flush; this commits once, before the response
    is sent, then publishes what the request queued (FastAPI runs a function-scoped
    dependency's exit before it sends the response)."""
    resources: Resources = request.state.resources
    async with unit_of_work(resources, read_only=request.method in READ_ONLY_METHODS) as uow:
        yield uow.session


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """`get_session` for the rare GET that writes (a sign-in callback): one transaction with
    the write lock, never the autocommit read session (on PostgreSQL each statement would
    commit alone; on SQLite the read could not be upgraded while another writer runs)."""
    resources: Resources = request.state.resources
    async with unit_of_work(resources) as uow:
        yield uow.session


def unit_of_work(
    resources: Resources, *, read_only: bool = False
) -> AbstractAsyncContextManager[UnitOfWork]:
    """A unit of work on the app's resources: its database, publishing to its Redis.

    `read_only` (GET/HEAD) uses the autocommit session factory where there is one; any
    other unit of work on SQLite takes the write lock up front.
    """
    factory = resources.session_factory
    if read_only and resources.read_session_factory is not None:
        factory = resources.read_session_factory
    return open_unit_of_work(
        factory,
        RedisPublisher(resources.redis),
        immediate=not read_only and resources.settings.is_sqlite,
        wake_jobs=resources.jobs.wake if resources.jobs is not None else None,
    )
