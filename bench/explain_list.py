"""EXPLAIN ANALYZE of the task list's queries on PostgreSQL with a large project.

Creates a scratch database, fills one project with N tasks (default 100,000) spread over
the three status columns, a few labels and assignees, then runs the service's own
`list_page` for the common listings and prints each captured statement's plan. The plans
say whether a page is an index scan that stops after `limit` rows (what keyset pagination
is for) or a scan of the whole project. Results: bench/results/explain_list.md.

    .venv/bin/python bench/explain_list.py [--tasks 100000] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from common import ADMIN_DSN, REDIS_URL, bench_database
from sqlalchemy import event, text
from sqlalchemy.engine import Connection as SyncConnection

from taskmanager.auth.models import User
from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory
from taskmanager.kit.pagination import PageRequest
from taskmanager.kit.signing import load_secret_key
from taskmanager.labels.models import Label
from taskmanager.migrations.runner import upgrade_to_head
from taskmanager.projects import service as projects
from taskmanager.projects.schemas import ProjectCreate
from taskmanager.tasks.listing import TaskFilters, list_page


async def fill(settings: Settings, tasks: int) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """One project with `tasks` tasks; returns (project, user, a label) ids."""
    engine = create_engine(settings)
    async with create_session_factory(engine)() as session:
        user = User(email="explain@example.com", display_name="Explain", password_hash="x")
        session.add(user)
        await session.flush()
        created = await projects.create_project(
            session, user_id=user.id, data=ProjectCreate(name="Big project")
        )
        project = created.project
        labels = [
            Label(project_id=project.id, name=f"label {i}", color="#123456") for i in range(4)
        ]
        session.add_all(labels)
        await session.flush()
        label_ids = [label.id for label in labels]
        # Positions are fixed-width keys, unique per column; every 7th task is assigned,
        # every 5th has a due date, every 3rd has a label.
        await session.execute(
            text(
                """
                INSERT INTO tasks (id, project_id, title, description, status, priority_rank,
                                   position, due_at, assignee_id, created_by, created_at,
                                   updated_at, version)
                SELECT gen_random_uuid(), :p, 'Task ' || i, 'Description of task ' || i,
                       (ARRAY['todo','in_progress','done'])[1 + i % 3], i % 5,
                       lpad(to_hex(i), 8, '0'),
                       CASE WHEN i % 5 = 0 THEN now() + (i || ' minutes')::interval END,
                       CASE WHEN i % 7 = 0 THEN CAST(:u AS uuid) END, :u,
                       now() - (i || ' seconds')::interval, now(), 1
                FROM generate_series(1, :n) AS i
                """
            ),
            {"p": project.id, "u": user.id, "n": tasks},
        )
        await session.execute(
            text(
                "INSERT INTO task_labels (task_id, label_id)"
                " SELECT id, CAST(:l AS uuid) FROM tasks WHERE position::text LIKE '%0'"
            ),
            {"l": label_ids[0]},
        )
        await session.commit()
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return project.id, user.id, label_ids[0]


@dataclass(frozen=True)
class Made:
    """What a listing's filters may refer to: the filled project's user and label."""

    user_id: uuid.UUID
    label_id: uuid.UUID


LISTINGS: list[tuple[str, str, Callable[[Made], TaskFilters]]] = [
    ("board column: status=todo, sort=position", "position", lambda m: TaskFilters(status="todo")),
    ("newest first: sort=-created_at", "-created_at", lambda m: TaskFilters()),
    ("assignee filter, sort=position", "position", lambda m: TaskFilters(assignee_id=m.user_id)),
    ("label filter, sort=-updated_at", "-updated_at", lambda m: TaskFilters(label_id=m.label_id)),
    (
        "due soon: due_after=now, sort=due_at",
        "due_at",
        lambda m: TaskFilters(due_after=dt.datetime.now(dt.UTC)),
    ),
    ("search q='task 4242'", "position", lambda m: TaskFilters(q="task 4242")),
]


async def explain(
    settings: Settings, project_id: uuid.UUID, user_id: uuid.UUID, label_id: uuid.UUID
) -> list[dict[str, Any]]:
    engine = create_engine(settings)
    captured: list[tuple[str, Any]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _capture(
        _conn: SyncConnection,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    results = []
    async with create_session_factory(engine)() as session:
        # As a request's PageDep does: list_page signs next_cursor with the server secret.
        page = PageRequest(limit=50, cursor=None, key=load_secret_key(settings))
        made = Made(user_id=user_id, label_id=label_id)
        for title, sort, make_filters in LISTINGS:
            captured.clear()
            started = time.perf_counter()
            body = await list_page(
                session,
                project_id=project_id,
                user_id=user_id,
                filters=make_filters(made),
                sort=sort,
                page=page,
            )
            elapsed = (time.perf_counter() - started) * 1000
            statement, parameters = captured[0]
            raw = await session.connection()
            plan_rows = await raw.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
            )
            plan = "\n".join(row[0] for row in plan_rows)
            results.append({"listing": title, "ms": elapsed, "bytes": len(body), "plan": plan})
            print(f"\n## {title}: {elapsed:.1f} ms end to end\n{plan}", flush=True)
    await engine.dispose()
    return results


def markdown(tasks: int, results: list[dict[str, Any]], server: str) -> str:
    lines = [
        "# Task list query plans",
        "",
        f"`bench/explain_list.py`: one project with {tasks:,} tasks on {server}, after",
        "`VACUUM ANALYZE`; the first page (limit 50) of each listing through the service's",
        "own `list_page`, then `EXPLAIN (ANALYZE, BUFFERS)` of the statement it sent.",
        "",
        "| listing | list_page ms (incl. the round trip) |",
        "|---|---|",
    ]
    lines += [f"| {r['listing']} | {r['ms']:.1f} |" for r in results]
    for r in results:
        lines += ["", f"## {r['listing']}", "", "```", r["plan"], "```"]
    return "\n".join(lines) + "\n"


async def main_async(tasks: int, out: Path) -> None:
    async with bench_database() as dsn:
        settings = Settings(database_url=dsn, redis_url=REDIS_URL)
        await asyncio.to_thread(upgrade_to_head, settings)
        started = time.perf_counter()
        project_id, user_id, label_id = await fill(settings, tasks)
        print(f"filled {tasks:,} tasks in {time.perf_counter() - started:.1f}s", flush=True)
        results = await explain(settings, project_id, user_id, label_id)
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        server = "PostgreSQL " + str(await admin.fetchval("SHOW server_version"))
    finally:
        await admin.close()
    out.mkdir(parents=True, exist_ok=True)
    (out / "explain_list.md").write_text(markdown(tasks, results, server))
    print(f"\nwrote {out / 'explain_list.md'}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    asyncio.run(main_async(args.tasks, Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
