"""`taskmanager import FILE`: an export or a Trello board into a new project, with progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select

from taskmanager.auth.models import User
from taskmanager.config import Settings
from taskmanager.db import create_engine, create_session_factory
from taskmanager.errors import ValidationFailed
from taskmanager.transfer.plan import plan_from
from taskmanager.transfer.service import import_plan


def read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        print(f"taskmanager import: cannot read {path}: {exc}", file=sys.stderr)
        return None


async def run_import(
    settings: Settings, *, raw: bytes, path: Path, owner_email: str, project_name: str | None
) -> int:
    """Exit status: 0 imported, 1 a bad file or owner (reported on stderr, nothing written)."""
    try:
        plan = plan_from(json.loads(raw))
    except ValueError as exc:
        print(f"taskmanager import: cannot read {path}: {exc}", file=sys.stderr)
        return 1
    except ValidationFailed as exc:
        for error in exc.errors or [{"loc": [], "msg": exc.detail}]:
            where = ".".join(map(str, error["loc"][1:])) or "file"
            print(f"taskmanager import: {path}: {where}: {error['msg']}", file=sys.stderr)
        return 1
    if project_name:
        plan.name = project_name
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            # A writer from the start on SQLite (see db._configure_sqlite).
            await session.connection(execution_options={"sqlite_immediate": True})
            owner = await session.scalar(select(User).where(User.email == owner_email.lower()))
            if owner is None:
                print(f"taskmanager import: no user {owner_email}", file=sys.stderr)
                return 1
            if sys.stderr.isatty():
                with click.progressbar(length=1, label="Importing", file=sys.stderr) as bar:

                    def progress(done: int, total: int) -> None:
                        bar.length = max(total, 1)
                        bar.update(done - bar.pos)

                    view = await import_plan(
                        session, user_id=owner.id, plan=plan, progress=progress
                    )
            else:
                # Not a terminal (a log, CI): one line per batch instead of a redrawn bar.
                view = await import_plan(session, user_id=owner.id, plan=plan, progress=_lines)
    finally:
        await engine.dispose()
    counts = view.progress
    print(
        f"taskmanager import: project {view.project.id} {view.project.name!r}: "
        f"{counts.todo + counts.in_progress + counts.done} tasks",
        file=sys.stderr,
    )
    print(view.project.id)
    return 0


def _lines(done: int, total: int) -> None:
    print(f"taskmanager import: {done}/{total} rows written", file=sys.stderr)
