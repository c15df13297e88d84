"""Counts the SQL statements and Redis commands a running server issues, for the guard tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import event

from taskmanager.state import Resources


@dataclass
class Counts:
    """What the server sent to PostgreSQL/SQLite and Redis while counting."""

    sql: list[str] = field(default_factory=list)
    # One entry per command; a pipeline adds each of its commands and one round trip.
    redis: list[str] = field(default_factory=list)
    redis_round_trips: int = 0

    def summary(self) -> tuple[int, int, int]:
        return len(self.sql), len(self.redis), self.redis_round_trips


@contextmanager
def _count_redis(client: Redis, counts: Counts) -> Iterator[None]:
    """Wrap the client's command and pipeline entry points (real redis-py and fakeredis)."""
    plain = client.execute_command
    make_pipeline = client.pipeline

    async def execute_command(*args: Any, **options: Any) -> Any:
        counts.redis.append(str(args[0]).upper())
        counts.redis_round_trips += 1
        return await plain(*args, **options)  # type: ignore[no-untyped-call]

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = make_pipeline(*args, **kwargs)
        run = pipe.execute

        async def execute(*a: Any, **k: Any) -> Any:
            counts.redis.extend(str(c[0][0]).upper() for c in pipe.command_stack)
            counts.redis_round_trips += 1
            return await run(*a, **k)

        pipe.execute = execute  # type: ignore[method-assign]
        return pipe

    client.execute_command = execute_command  # type: ignore[method-assign]
    client.pipeline = pipeline  # type: ignore[method-assign]
    try:
        yield
    finally:
        del client.execute_command
        del client.pipeline


@contextmanager
def count_io(resources: Resources) -> Iterator[Counts]:
    counts = Counts()

    def on_execute(*args: Any) -> None:
        statement: str = args[2]
        counts.sql.append(" ".join(statement.split())[:120])

    engine = resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        with _count_redis(resources.redis, counts):
            yield counts
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def settled(counts: Counts) -> tuple[int, int, int]:
    """The counts once nothing more arrives (work a request leaves behind is its cost too)."""
    last = (-1, -1, -1)
    while counts.summary() != last:
        last = counts.summary()
        await asyncio.sleep(0.15)
    return last
