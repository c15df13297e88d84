"""The `taskmanager` command: serve, worker, migrate, seed, openapi, import, digest,
attachments."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from types import FrameType

from taskmanager import __version__
from taskmanager.config import Settings, load_settings


def _serve(args: argparse.Namespace) -> int:
    from taskmanager.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.embedded and args.workers > 1:
        print(
            "taskmanager: --workers > 1 needs DATABASE_URL and REDIS_URL; the embedded mode "
            "is single-process (its Redis stand-in lives inside one process).",
            file=sys.stderr,
        )
        return 2
    metrics_dir = _metrics_dir(args.workers)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal into
    # the handler that was installed before it started; make that handler a clean exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _exit_cleanly)
    logging.getLogger("taskmanager.cli").info(
        "serving", extra={"url": f"http://{args.host}:{args.port}", "workers": args.workers}
    )
    try:
        _run_uvicorn(args, settings)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _metrics_dir(workers: int) -> str | None:
    """With several workers, a fresh directory for their metric files (prometheus_client's
    multiprocess mode); workers are spawned after this, so they all inherit it.

    Fresh per serve: files left by an earlier run would add its counts to this one's.
    """
    if workers <= 1:
        # One process: its own registry (with the process_* metrics too), never files
        # that an earlier run may have left in a directory named by the environment.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return None
    path = tempfile.mkdtemp(prefix="taskmanager-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    return path


def _run_uvicorn(args: argparse.Namespace, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "taskmanager.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        ws="websockets-sansio",
        # No permessage-deflate: compression runs per connection (its own zlib context,
        # ~40 KiB each, and one compress per subscriber per event) for small JSON events.
        ws_per_message_deflate=False,
        server_header=False,
        ws_max_size=settings.ws_max_message_bytes,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        date_header=True,
        # The app applies FORWARDED_ALLOW_IPS itself (app.py), from the settings.
        proxy_headers=False,
        # Rounded up, never to None: None would mean waiting for ever, and 0 is "no grace".
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        log_config=None,
        access_log=False,
    )


def _exit_cleanly(_sig: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def _migrate(_args: argparse.Namespace) -> int:
    from taskmanager.logs import configure_logging
    from taskmanager.migrations.runner import upgrade_to_head

    settings = load_settings()
    configure_logging(settings.log_level)
    upgrade_to_head(settings)
    print("taskmanager: database schema is up to date", file=sys.stderr)
    return 0


def _openapi(_args: argparse.Namespace) -> int:
    from taskmanager.app import create_app

    spec = create_app(load_settings()).openapi()
    print(json.dumps(spec, indent=2, sort_keys=False))
    return 0


def _seed(_args: argparse.Namespace) -> int:
    import asyncio

    from taskmanager.seed import seed

    settings = load_settings()
    if settings.is_sqlite:
        from taskmanager.migrations.runner import upgrade_to_head

        upgrade_to_head(settings)
    asyncio.run(seed(settings))
    return 0


def _import(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from taskmanager.transfer.cli import read_file, run_import

    raw = read_file(Path(args.file))
    if raw is None:
        return 1
    settings = load_settings()
    if settings.is_sqlite:
        from taskmanager.migrations.runner import upgrade_to_head

        upgrade_to_head(settings)
    return asyncio.run(
        run_import(
            settings,
            raw=raw,
            path=Path(args.file),
            owner_email=args.owner,
            project_name=args.project_name,
        )
    )


def _attachments(args: argparse.Namespace) -> int:
    import asyncio

    from taskmanager.attachments.cli import run_sweep
    from taskmanager.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        from taskmanager.migrations.runner import upgrade_to_head

        upgrade_to_head(settings)
    return asyncio.run(run_sweep(settings, older_than_minutes=args.older_than_minutes))


_SETTINGS_NOTE = (
    "Settings come from the environment or ./.env (DATABASE_URL, REDIS_URL, ...: see the "
    "README); with neither URL set it uses the embedded default, SQLite in DATA_DIR (./data) "
    "and an in-process Redis stand-in. Bad settings exit with code 2."
)


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. {_SETTINGS_NOTE}",
        # Every option's help ends with its default.
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def _worker(_args: argparse.Namespace) -> int:
    import asyncio

    from taskmanager.jobs.standalone import run_worker
    from taskmanager.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        from taskmanager.migrations.runner import upgrade_to_head

        upgrade_to_head(settings)
    asyncio.run(run_worker(settings))
    return 0


def _digest(_args: argparse.Namespace) -> int:
    import asyncio

    from taskmanager.logs import configure_logging
    from taskmanager.notifications.emails.cli import run_digest_command

    settings = load_settings()
    configure_logging(settings.log_level)
    if settings.is_sqlite:
        from taskmanager.migrations.runner import upgrade_to_head

        upgrade_to_head(settings)
    return asyncio.run(run_digest_command(settings))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskmanager",
        description="The real-time task manager backend. " + _SETTINGS_NOTE,
        epilog="Run 'taskmanager <command> --help' for a command's options and their defaults.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    serve = _command(
        commands,
        "serve",
        "run the HTTP/WebSocket server (on the embedded default it creates or upgrades the "
        "SQLite schema first)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes; more than 1 needs DATABASE_URL and REDIS_URL",
    )
    serve.set_defaults(func=_serve)
    _command(
        commands, "migrate", "apply database migrations up to the latest (idempotent)"
    ).set_defaults(func=_migrate)
    _command(commands, "seed", "create demo users, projects and tasks").set_defaults(func=_seed)
    _command(
        commands,
        "worker",
        "run background jobs (mail) without serving HTTP; see JOBS_IN_SERVE",
    ).set_defaults(func=_worker)
    _command(
        commands,
        "digest",
        "queue today's daily notification digest for every user who chose one and has not "
        "had it yet (at any hour; idempotent); the job worker sends the mails",
    ).set_defaults(func=_digest)
    _command(commands, "openapi", "print the OpenAPI spec as JSON on stdout").set_defaults(
        func=_openapi
    )
    imports = _command(
        commands,
        "import",
        "import a project export or a Trello board JSON export as a new project, in one "
        "transaction, showing progress; prints the new project's id",
    )
    imports.add_argument("file", help="the JSON file")
    imports.add_argument("--owner", required=True, help="e-mail of the user who will own it")
    imports.add_argument(
        "--project-name", default=None, help="name of the new project (default: the file's)"
    )
    imports.set_defaults(func=_import)
    attachments = _command(commands, "attachments", "maintain stored attachment files")
    tasks = attachments.add_subparsers(dest="action", required=True, metavar="<action>")
    sweep = tasks.add_parser(
        "sweep",
        help="remove stored files that no attachment names (left by a crash mid-upload)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sweep.add_argument(
        "--older-than-minutes",
        type=float,
        default=60.0,
        help="only files written at least this long ago (younger ones may be uploads "
        "still arriving)",
    )
    sweep.set_defaults(func=_attachments)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
