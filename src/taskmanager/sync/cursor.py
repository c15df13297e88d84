"""The /sync cursor: a signed, compressed vector of per-project seqs (plus a snapshot position).

A global id is no resume point (transactions commit out of id order), so the cursor holds
one seq per project: "the caller has every event of project P up to seq S". Layout before
compression (all integers unsigned LEB128 varints):

    version, issued_at_ms, n, n project ids (16 bytes each, sorted), n seqs,
    has_snapshot [, m, m project ids, m seqs, phase, after_project (16), after_row (16)]

The ids are sorted so the vector has one spelling; zlib shrinks the seqs and the shared
prefixes, leaving ~22 base64 characters per project. The HMAC binds the cursor to the user
it was issued to, so one user's cursor is refused for another.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import uuid
import zlib
from dataclasses import dataclass, field
from uuid import UUID

from taskmanager.errors import ValidationFailed
from taskmanager.kit import signing

VERSION = 1
MAX_CURSOR_CHARS = 16_384
"""h11 refuses request heads over 16 KiB; ~700 projects fit in that."""
_PURPOSE = b"taskmanager-sync-v1"
_NIL = uuid.UUID(int=0)
_MAX_SEQ = 2**63 - 1
_MAX_PROJECTS = 100_000


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"

    def __init__(self) -> None:
        super().__init__(
            "Invalid sync cursor (altered, truncated or issued to someone else); "
            "bootstrap again without a cursor.",
            errors=[{"loc": ["query", "cursor"], "msg": "Invalid sync cursor."}],
        )


@dataclass(slots=True)
class SnapshotPosition:
    """A bootstrap in progress: which projects (at which seq) and where the next page starts.

    `phase` indexes sync.snapshot.PHASES; rows are read in (project_id, row id) order.
    """

    seqs: dict[uuid.UUID, int]
    phase: int = 0
    after_project: uuid.UUID = _NIL
    after_row: uuid.UUID = _NIL


@dataclass(slots=True)
class SyncCursor:
    """`seqs`: projects fully synced, with the last seq the client has; `issued_at`: when the
    memberships behind it were read (a membership newer than that is a re-join)."""

    seqs: dict[uuid.UUID, int]
    issued_at: dt.datetime
    snapshot: SnapshotPosition | None = field(default=None)

    def projects(self) -> set[uuid.UUID]:
        known = set(self.seqs)
        if self.snapshot is not None:
            known.update(self.snapshot.seqs)
        return known


def _varint(value: int, out: bytearray) -> None:
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _vector(seqs: dict[uuid.UUID, int], out: bytearray) -> None:
    ids = sorted(seqs)
    _varint(len(ids), out)
    for project_id in ids:
        out += project_id.bytes
    for project_id in ids:
        _varint(seqs[project_id], out)


def encode(key: bytes, user_id: uuid.UUID, cursor: SyncCursor) -> str:
    out = bytearray()
    _varint(VERSION, out)
    # Rounded up to the millisecond: a membership read a microsecond before must not come
    # back newer than the cursor (a re-join).
    _varint(max(0, math.ceil(cursor.issued_at.timestamp() * 1000)), out)
    _vector(cursor.seqs, out)
    snap = cursor.snapshot
    if snap is None:
        out.append(0)
    else:
        out.append(1)
        _vector(snap.seqs, out)
        _varint(snap.phase, out)
        out += snap.after_project.bytes + snap.after_row.bytes
    payload = zlib.compress(bytes(out), 9)
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{signing.tag(key, _PURPOSE + user_id.bytes, payload)}"


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def varint(self, limit: int = _MAX_SEQ) -> int:
        value = shift = 0
        while True:
            if self.pos >= len(self.data) or shift > 63:
                raise InvalidCursor()
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        if value > limit:
            raise InvalidCursor()
        return value

    def read_id(self) -> UUID:
        end = self.pos + 16
        if end > len(self.data):
            raise InvalidCursor()
        value = UUID(bytes=self.data[self.pos : end])
        self.pos = end
        return value

    def vector(self) -> dict[uuid.UUID, int]:
        count = self.varint(_MAX_PROJECTS)
        ids = [self.read_id() for _ in range(count)]
        seqs = {project_id: self.varint() for project_id in ids}
        if len(seqs) != count:
            raise InvalidCursor()
        return seqs


def decode(key: bytes, user_id: uuid.UUID, text: str) -> SyncCursor:
    """The cursor `encode` made for `user_id`, or InvalidCursor (422)."""
    body, sep, check = text.partition(".")
    if not sep or len(text) > MAX_CURSOR_CHARS:
        raise InvalidCursor()
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if not signing.check(key, _PURPOSE + user_id.bytes, payload, check):
        raise InvalidCursor()
    try:
        # Bounded: a signed payload is ours, but never inflate more than a cursor can need.
        data = zlib.decompressobj().decompress(payload, 64 * MAX_CURSOR_CHARS)
    except zlib.error:
        raise InvalidCursor() from None
    reader = _Reader(data)
    if reader.varint() != VERSION:
        raise InvalidCursor()
    issued_ms = reader.varint(2**48)
    seqs = reader.vector()
    snapshot = None
    if reader.varint(1):
        snap_seqs = reader.vector()
        phase = reader.varint(16)
        snapshot = SnapshotPosition(snap_seqs, phase, reader.read_id(), reader.read_id())
    if reader.pos != len(data):
        raise InvalidCursor()
    issued_at = dt.datetime.fromtimestamp(issued_ms / 1000, dt.UTC)
    return SyncCursor(seqs=seqs, issued_at=issued_at, snapshot=snapshot)
