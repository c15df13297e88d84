"""Cursors are signed with the server secret and their values are checked like any input:
a forged or hostile cursor is a 422 at ["query", "cursor"], never a 500."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import stat
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from taskmanager.config import Settings
from taskmanager.kit.pagination import encode_cursor
from taskmanager.kit.signing import load_secret_key
from tests.helpers import API, Team, assert_problem, create_task
from tests.server import RunningServer
from tests.wire import ConnectCounter, assert_connection_kept


def _old_style(scope: str, values: list[Any]) -> str:
    """What anyone could compute before: a sha256 over a public prefix."""
    payload = orjson.dumps([scope, *values])
    digest = hashlib.sha256(b"taskmanager-cursor-v1:" + payload).digest()[:9]
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{base64.urlsafe_b64encode(digest).decode()}"


ROW = str(uuid.uuid4())
# sort -> values a signed cursor of that sort may not carry, each a 422.
HOSTILE: dict[str, list[Any]] = {
    "position": ["a\x00", "a" * 5000, 7, None],
    "priority": [2**15, -(2**15) - 1, 2**63, 1.5, True, "2"],
    "due_at": [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "2026-01-01T00:00:00",
        "2026-13-01T00:00:00+00:00",
        "\x00",
    ],
    "created_at": [None, "2026-01-01T00:00:00+01:00"],
}


async def test_forged_and_foreign_cursors_are_422(team: Team, server: RunningServer) -> None:
    client, counter = team["member"], ConnectCounter()
    url = f"{API}/projects/{team.project_id}/tasks"
    scope = f"tasks:{team.project_id}:priority"
    key = server.resources.secret_key
    for cursor in (
        _old_style(scope, [2, ROW]),
        encode_cursor(b"another server's key, 32 bytes!!", scope, [2, ROW]),
        encode_cursor(key, f"tasks:{uuid.uuid4()}:priority", [2, ROW]),  # another project
        encode_cursor(key, scope, [2, ROW]) + "x",
    ):
        response = await client.get(
            url, params={"sort": "priority", "cursor": cursor}, extensions=counter.extensions
        )
        assert_problem(response, 422, field="cursor")
        await assert_connection_kept(client, counter)


@pytest.mark.parametrize("sort", HOSTILE)
async def test_signed_hostile_values_are_422(team: Team, server: RunningServer, sort: str) -> None:
    await create_task(team["member"], team.project_id, "one")
    client, counter = team["member"], ConnectCounter()
    url = f"{API}/projects/{team.project_id}/tasks"
    key = server.resources.secret_key
    for value in HOSTILE[sort]:
        for row in (ROW, "not-a-uuid", "\x00"):
            cursor = encode_cursor(key, f"tasks:{team.project_id}:{sort}", [value, row])
            response = await client.get(
                url, params={"sort": sort, "cursor": cursor}, extensions=counter.extensions
            )
            assert_problem(response, 422, field="cursor")
            await assert_connection_kept(client, counter)


async def test_edge_values_signed_by_the_server_are_accepted(
    team: Team, server: RunningServer
) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    key = server.resources.secret_key
    for sort, value in [
        ("priority", 2**15 - 1),
        ("-priority", -(2**15)),
        ("due_at", "0001-01-01T00:00:00+00:00"),
        ("-due_at", "9999-12-31T23:59:59+00:00"),
        ("position", "\U0001f600"),
    ]:
        cursor = encode_cursor(key, f"tasks:{team.project_id}:{sort}", [value, ROW])
        response = await team["member"].get(url, params={"sort": sort, "cursor": cursor})
        assert response.status_code == 200, response.text


def test_key_is_made_once_per_data_dir_and_setting_wins(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    first = load_secret_key(make_settings(data_dir=tmp_path, secret_key=None))
    again = load_secret_key(make_settings(data_dir=tmp_path, secret_key=None))
    assert first == again and len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    other = load_secret_key(make_settings(data_dir=tmp_path / "other", secret_key=None))
    assert other != first
    configured = "x" * 40
    assert load_secret_key(make_settings(data_dir=tmp_path, secret_key=configured)) == b"x" * 40


def test_short_secret_key_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="at least 32"):
        make_settings(secret_key="short")


async def test_next_cursor_from_the_server_still_works(team: Team) -> None:
    for i in range(3):
        await create_task(
            team["member"],
            team.project_id,
            f"t{i}",
            due_at=dt.datetime(2026, 1, i + 1, tzinfo=dt.UTC).isoformat(),
        )
    url = f"{API}/projects/{team.project_id}/tasks"
    first = (await team["member"].get(url, params={"sort": "-due_at", "limit": 2})).json()
    rest = (
        await team["member"].get(
            url, params={"sort": "-due_at", "limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    assert [t["title"] for t in first["items"] + rest["items"]] == ["t2", "t1", "t0"]
