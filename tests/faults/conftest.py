"""Shared pieces of the fault-injection tests: their markers and a log consistency check.

The fresh database per module (`database_url`) and the private redis-server a test may kill
(`redis_server`) are fixtures of tests/conftest.py; server helpers are in tests/processes.py.

Every module here needs TM_TEST_BACKEND=postgres (the embedded mode is one process on
SQLite and an in-process Redis stand-in: there is nothing real to kill).
"""

from __future__ import annotations

import asyncpg
import pytest

from tests import backends

SKIP_REASON = (
    "fault-injection tests kill real PostgreSQL connections, Redis and server processes: "
    f"run with TM_TEST_BACKEND=postgres (this run uses {backends.BACKEND!r})"
)
FAULTS = [
    pytest.mark.skipif(backends.BACKEND != "postgres", reason=SKIP_REASON),
    pytest.mark.postgres_only,
    pytest.mark.slow,
]


async def check_log_consistency(database_url: str) -> dict[str, int]:
    """Straight from SQL: the change and its event are all-or-nothing, seqs gap-free.

    Every task has its task.created event; every task.created event names a task that
    exists unless a later task.deleted event removed it; per project the seqs are exactly
    1..projects.event_seq. Returns a few counts for the test's own checks.
    """
    conn = await asyncpg.connect(database_url)
    try:
        orphans = await conn.fetch(
            """
            SELECT t.id FROM tasks t
            WHERE NOT EXISTS (
                SELECT 1 FROM events e
                WHERE e.project_id = t.project_id AND e.name = 'task.created'
                  AND e.data->>'id' = t.id::text)
            """
        )
        assert not orphans, f"tasks without their task.created event: {orphans}"
        ghosts = await conn.fetch(
            """
            SELECT e.project_id, e.seq, e.data->>'id' AS task_id FROM events e
            WHERE e.name = 'task.created'
              AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id::text = e.data->>'id')
              AND NOT EXISTS (
                SELECT 1 FROM events d WHERE d.project_id = e.project_id
                  AND d.name = 'task.deleted' AND d.data->>'id' = e.data->>'id')
            """
        )
        assert not ghosts, f"task.created events whose task does not exist: {ghosts}"
        seqs = await conn.fetch(
            """
            SELECT p.id, p.event_seq, count(e.seq) AS n, coalesce(min(e.seq), 0) AS lo,
                   coalesce(max(e.seq), 0) AS hi
            FROM projects p LEFT JOIN events e ON e.project_id = p.id
            GROUP BY p.id, p.event_seq
            """
        )
        for row in seqs:
            assert row["hi"] == row["event_seq"], f"event_seq {row['event_seq']} != max {row}"
            if row["n"]:
                assert (row["lo"], row["n"]) == (1, row["hi"]), f"seqs not 1..max: {dict(row)}"
        # No change without its event: a task's version counts its changes, and each one
        # (task.updated / task.moved) has an event; the latest event shows the row as is.
        drift = await conn.fetch(
            """
            SELECT t.id, t.version, t.position, changes.n, last.version AS last_version,
                   last.position AS last_position
            FROM tasks t
            CROSS JOIN LATERAL (
                SELECT count(*) AS n FROM events e
                WHERE e.project_id = t.project_id AND e.data->>'id' = t.id::text
                  AND e.name IN ('task.updated', 'task.moved')) AS changes
            CROSS JOIN LATERAL (
                SELECT (e.data->>'version')::int AS version, e.data->>'position' AS position
                FROM events e
                WHERE e.project_id = t.project_id AND e.data->>'id' = t.id::text
                  AND e.name LIKE 'task.%'
                ORDER BY e.seq DESC LIMIT 1) AS last
            WHERE t.version <> 1 + changes.n OR last.version <> t.version
               OR last.position <> t.position
            """
        )
        assert not drift, f"tasks whose changes and events disagree: {[dict(r) for r in drift]}"
        moved = await conn.fetchval("SELECT count(*) FROM events WHERE name = 'task.moved'")
        tasks = await conn.fetchval("SELECT count(*) FROM tasks")
        return {"tasks": int(tasks), "moved_events": int(moved)}
    finally:
        await conn.close()
