"""Every operation of the OpenAPI document, as every principal: the expected status, nothing
more (no 500, no team A data to strangers) and, when refused, nothing changed.

The expectations live in tests/authz/table.py; this module only runs them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.authz.table import MATRIX
from tests.authz.world import PRINCIPALS, TEAM_ROLES, World, build_world, close_world
from tests.server import RunningServer

HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
TABLE = "tests/authz/table.py"


@pytest.fixture(scope="module")
async def world(server: RunningServer) -> AsyncIterator[World]:
    built = await build_world(server)
    yield built
    await close_world(built)


async def test_every_openapi_operation_has_an_expectation(world: World) -> None:
    response = await world.raw.get("/openapi.json")
    assert response.status_code == 200
    operations = {
        f"{method.upper()} {path}"
        for path, item in response.json()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    missing = sorted(operations - MATRIX.keys())
    stale = sorted(MATRIX.keys() - operations)
    assert not missing, "".join(
        f"\nadd an expectation for {op} to MATRIX in {TABLE}" for op in missing
    )
    assert not stale, f"{TABLE} has rows for operations that no longer exist: {stale}"


@pytest.mark.parametrize("operation", sorted(MATRIX))
async def test_operation(world: World, operation: str) -> None:
    method, _, _ = operation.partition(" ")
    row = MATRIX[operation]
    assert set(row.expect) == set(PRINCIPALS), operation
    problems: list[str] = []
    for principal in PRINCIPALS:
        expected = row.expect[principal]
        request = await row.build(world, principal, expected < 400)
        before = await world.event_seq(request.project_id) if request.project_id else None
        response = await world.send(
            principal,
            method,
            request.path,
            json=request.json,
            cred=request.cred,
            files=request.files,
        )
        where = f"{principal:>9}: {method} {request.path} -> {response.status_code}"
        if response.status_code != expected:
            body = "" if _is_stream(response) else response.text[:300]
            problems.append(f"{where}, expected {expected}: {body}")
            continue
        if expected >= 400:
            if not response.headers.get("content-type", "").startswith("application/problem"):
                problems.append(f"{where}: not problem+json")
            if request.project_id and await world.event_seq(request.project_id) != before:
                problems.append(f"{where}: refused, yet the project's event log moved")
        stranger = principal not in TEAM_ROLES
        if stranger and not _is_stream(response) and world.a.secret in response.text:
            problems.append(f"{where}: team A's data reached a non-member")
    assert not problems, "\n" + "\n".join(problems)


def _is_stream(response: object) -> bool:
    headers = getattr(response, "headers", {})
    return str(headers.get("content-type", "")).startswith("text/event-stream")
