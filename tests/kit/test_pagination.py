"""Cursor encoding: round trip, and every kind of damage is a 422 at ["query", "cursor"]."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest

from taskmanager.errors import ValidationFailed
from taskmanager.kit.pagination import decode_cursor, encode_cursor

KEY = b"k" * 32


def test_round_trip() -> None:
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=dt.UTC)
    row = uuid.uuid4()
    cursor = encode_cursor(KEY, "tasks:x:due_at", [at, row])
    assert decode_cursor(KEY, cursor, "tasks:x:due_at", ["datetime", "uuid"]) == [at, row]
    none_cursor = encode_cursor(KEY, "s", [None, row])
    assert decode_cursor(KEY, none_cursor, "s", ["datetime", "uuid"], [True]) == [None, row]


@pytest.mark.parametrize("kind", ["str", "int"])
def test_wrong_scope_or_kind(kind: str) -> None:
    cursor = encode_cursor(KEY, "a", [1.5, str(uuid.uuid4())])
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(KEY, cursor, "a", [kind, "uuid"])  # type: ignore[list-item]
    errors = info.value.errors or []
    assert [e["loc"] for e in errors] == [["query", "cursor"]]
    with pytest.raises(ValidationFailed):
        decode_cursor(KEY, encode_cursor(KEY, "a", [1, str(uuid.uuid4())]), "b", ["int", "uuid"])


def test_null_where_not_allowed() -> None:
    with pytest.raises(ValidationFailed):
        decode_cursor(KEY, encode_cursor(KEY, "a", [None, str(uuid.uuid4())]), "a", ["int", "uuid"])


def _payload(cursor: str) -> bytes:
    body = cursor.split(".")[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_every_single_character_change_is_rejected() -> None:
    cursor = encode_cursor(KEY, "projects:-created_at", [dt.datetime.now(dt.UTC), uuid.uuid4()])
    for i, ch in enumerate(cursor):
        for repl in ("A", "z", "_"):
            if repl == ch:
                continue
            damaged = cursor[:i] + repl + cursor[i + 1 :]
            try:
                decode_cursor(KEY, damaged, "projects:-created_at", ["datetime", "uuid"])
            except ValidationFailed:
                continue
            # Only a change in base64 padding bits can leave the payload itself unchanged.
            assert _payload(damaged) == _payload(cursor)
