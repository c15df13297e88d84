"""Alembic environment: runs migrations over the app's async engine (PostgreSQL or SQLite)."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from taskmanager.config import Settings
from taskmanager.db import UTCDateTime
from taskmanager.models import Base

config = context.config
settings: Settings = config.attributes.get("settings") or Settings()
target_metadata = Base.metadata


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | Literal[False]:
    # UTCDateTime is a Python-side adapter; the column itself is a plain timestamptz.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object | None
) -> bool:
    # PostgreSQL-only indexes (trigram search, DESC NULLS LAST) live in migrations, not in
    # the models; without this, autogenerate would propose dropping them.
    return not (type_ == "index" and reflected and compare_to is None)


def _run(connection: Connection) -> None:
    context.configure(
        render_item=_render_item,
        include_object=_include_object,
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(
        settings.sqlalchemy_url, poolclass=pool.NullPool, hide_parameters=True
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=settings.sqlalchemy_url, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
