"""Declarative base, engines and session factories, and the request's session alias."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_

from taskmanager.config import Settings
from taskmanager.uow import get_session, get_write_session

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


class UUIDPrimaryKey:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


PING_BYPASS_SECONDS = 0.5


def create_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            settings.sqlalchemy_url, pool_size=5, max_overflow=0, hide_parameters=True
        )
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        # No overflow: an overflow connection is closed as soon as it is checked in, so under
        # a steady load above the pool size every request paid a new connection (TCP, SSL
        # negotiation, start-up). A spike queues for a pooled one instead, up to the timeout.
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_seconds,
        # Bound values are user data: never in an exception message or a log line.
        hide_parameters=True,
        connect_args={
            "command_timeout": 30,
            "server_settings": {"application_name": "taskmanager"},
        },
    )
    _ping_on_checkout(engine)
    return engine


def _ping_on_checkout(engine: AsyncEngine) -> None:
    """Pessimistic disconnect handling (what pool_pre_ping does) in one round trip.

    pool_pre_ping on asyncpg wraps its ping in BEGIN ... ROLLBACK (for pgbouncer's
    transaction mode), three round trips on every checkout; a bare `;` finds a connection
    PostgreSQL has closed just as well. DisconnectionError makes the pool discard it and
    check out (or open) another. A connection checked in less than PING_BYPASS_SECONDS ago
    is taken as alive (HikariCP's "alive bypass window"): under load that saves the round
    trip on every request, while after a quiet spell (or a PostgreSQL restart) it still runs.
    """

    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:  # None once the connection was invalidated
            record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # record.info lives as long as the DBAPI connection: a new one has no stamp.
        if time.monotonic() - record.info.get("checked_in_at", -1e9) < PING_BYPASS_SECONDS:
            return
        try:
            await_(dbapi_connection.driver_connection.fetchrow(";"))
        except Exception as exc:
            raise DisconnectionError(f"connection failed its ping: {exc!r}") from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE for writers.

    A deferred SQLite transaction that reads and then writes fails with SQLITE_BUSY when
    another writer got in between; taking the write lock up front makes writers queue
    (bounded by busy_timeout) instead of failing.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let the "begin" hook below issue BEGIN
        # SQLite's own lower() folds ASCII only: "@émile" missed "Émile" and a search for
        # "ÉTÉ" missed "été" on the embedded default while PostgreSQL found them. No
        # SQLite index uses lower(), so replacing it changes no stored order.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_session_factory(
    engine: AsyncEngine, settings: Settings
) -> async_sessionmaker[AsyncSession] | None:
    """Sessions for GET/HEAD requests on PostgreSQL: autocommit, so no BEGIN and no COMMIT.

    Under READ COMMITTED every statement takes its own snapshot anyway, so a read-only
    request loses no consistency without the transaction, and saves two round trips. The
    isolation level is a flag of SQLAlchemy's asyncpg adapter (no round trip), reset when
    the connection goes back to the pool. The one write a GET may do (an API token's
    last_used_at) is a single statement that commits by itself.
    """
    if settings.is_sqlite:
        return None  # SQLite's deferred BEGIN is local: nothing to save
    return create_session_factory(engine.execution_options(isolation_level="AUTOCOMMIT"))


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The request's session: one unit of work, committed (then published) before the response.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# The same for a GET that writes: always a write transaction, whatever the method.
WriteSessionDep = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
