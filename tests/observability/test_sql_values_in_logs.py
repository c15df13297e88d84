"""A database error that becomes a 500 is logged with its statement but without the values
bound to it (user data), on both backends; the client sees none of it either."""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from taskmanager.app import create_app
from taskmanager.config import Settings
from taskmanager.db import SessionDep
from taskmanager.logs import JsonFormatter
from tests.helpers import assert_problem
from tests.server import run_server

SECRET = "ada-secret-7f3c@example.com"
# Fails on both backends: password_hash (and more) is NOT NULL; the e-mail is bound.
INSERT = "INSERT INTO users (id, email, display_name) VALUES (:id, :email, :name)"
# PostgreSQL only: asyncpg rejects the value itself and quotes it in its message.
CAST = "SELECT CAST(:value AS integer)"


def _app(settings: Settings) -> FastAPI:
    app = create_app(settings)

    @app.post("/boom/{statement}")
    async def boom(statement: str, db: SessionDep) -> None:
        if statement == "insert":
            await db.execute(
                text(INSERT), {"id": str(uuid.uuid4()), "email": SECRET, "name": SECRET}
            )
        else:
            await db.execute(text(CAST), {"value": SECRET})

    # Before the catch-all static mount, which would answer the path with a 405.
    app.router.routes.insert(0, app.router.routes.pop())
    return app


@contextmanager
def captured_logs() -> Iterator[io.StringIO]:
    """The JSON lines the app logs meanwhile (after create_app, which resets the handlers)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize("statement", ["insert", "cast"])
async def test_500_traceback_keeps_the_statement_not_the_values(
    migrated: None,
    make_settings: Callable[..., Settings],
    statement: str,
) -> None:
    settings = make_settings(log_level="ERROR")
    if statement == "cast" and settings.is_sqlite:
        pytest.skip("SQLite casts anything to an integer without an error")
    app = _app(settings)
    with captured_logs() as captured:
        async with (
            run_server(settings, app=app) as running,
            httpx.AsyncClient(base_url=running.base_url) as client,
        ):
            response = await client.post(f"/boom/{statement}")
    body = assert_problem(response, 500)
    assert SECRET not in response.text and "SQL" not in orjson.dumps(body).decode()
    lines: list[dict[str, Any]] = [
        orjson.loads(line) for line in captured.getvalue().splitlines() if line
    ]
    tracebacks = [line["exc"] for line in lines if "exc" in line]
    assert tracebacks, lines
    for logged in tracebacks:
        assert SECRET not in logged
        # The statement as sent (placeholders differ by driver), up to its first value.
        assert "[SQL: " + (INSERT if statement == "insert" else CAST).split(":")[0] in logged
        assert "withheld" in logged
