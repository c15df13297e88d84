"""Keyset pagination written once: sort specs, opaque validated cursors, and the page shape.

A cursor is base64url(JSON [scope, values...]) plus an HMAC under the server secret
(kit/signing.py), so a tampered, forged or foreign cursor (another endpoint, another sort)
is a 422 at ["query", "cursor"]. The values it carries are validated again like any input
(text without NUL, integers in the column's range, dates in years 1..9999, UUIDs), so even
a cursor signed with a leaked key cannot reach the database as something it rejects.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import typing
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar

import orjson
from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Row,
    Select,
    SmallInteger,
    and_,
    or_,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from taskmanager.errors import ValidationFailed
from taskmanager.kit import signing
from taskmanager.kit.examples import CURSOR, first_example

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}")]
CursorQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=2048, description="`next_cursor` of the previous page"),
]


@dataclass(frozen=True, slots=True)
class PageRequest:
    """What a list endpoint asks of keyset pagination: the page size, the client's cursor,
    and the server secret that signs and checks cursors."""

    limit: int
    cursor: str | None
    key: bytes = field(repr=False)


async def page_request(
    request: Request, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> PageRequest:
    """`?limit&cursor` of every list endpoint, with the app's secret (Resources.secret_key)."""
    key: bytes = request.state.resources.secret_key
    return PageRequest(limit=limit, cursor=cursor, key=key)


PageDep = Annotated[PageRequest, Depends(page_request)]

T = TypeVar("T")
E = TypeVar("E")
R = TypeVar("R")

ValueKind = Literal["str", "int", "datetime", "uuid"]
_CURSOR_LOC = ("query", "cursor")


def _page_example(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """A page of Page[Item] shows Item's own example, so it is written only once."""
    (item_type,) = typing.get_args(cls.model_fields["items"].annotation) or (None,)
    item = first_example(item_type) if isinstance(item_type, type) else None
    if item is not None and issubclass(item_type, BaseModel):
        schema["examples"] = [{"items": [item], "next_cursor": CURSOR}]


class Page(BaseModel, Generic[T]):
    model_config = ConfigDict(json_schema_extra=_page_example)

    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


@dataclass(frozen=True, slots=True)
class SortSpec:
    """Order by one attribute (then by id, in the same direction) with keyset continuation."""

    name: str
    attr: str
    column: InstrumentedAttribute[Any]
    id_column: InstrumentedAttribute[Any]
    kind: ValueKind
    descending: bool = False
    nullable: bool = False

    def order_by(self) -> list[Any]:
        col, idc = self.column, self.id_column
        if self.descending:
            first = col.desc().nulls_last() if self.nullable else col.desc()
            return [first, idc.desc()]
        return [col.asc().nulls_last() if self.nullable else col.asc(), idc.asc()]

    def after(self, value: Any, row_id: uuid.UUID) -> ColumnElement[bool]:
        """Rows strictly after (value, row_id) in this order (NULLs last either way)."""
        col, idc = self.column, self.id_column
        if not self.nullable:
            pair = tuple_(col, idc)
            return pair < (value, row_id) if self.descending else pair > (value, row_id)
        id_after = idc < row_id if self.descending else idc > row_id
        if value is None:
            return and_(col.is_(None), id_after)
        value_after = col < value if self.descending else col > value
        return or_(value_after, and_(col == value, id_after), col.is_(None))


_PURPOSE = b"taskmanager-cursor-v2"
_MAX_TEXT = 1000
_INT64 = (-(2**63), 2**63 - 1)
_INT_RANGES: list[tuple[type[Integer], tuple[int, int]]] = [
    (SmallInteger, (-(2**15), 2**15 - 1)),
    (BigInteger, _INT64),
    (Integer, (-(2**31), 2**31 - 1)),
]


def int_range(column: Any) -> tuple[int, int]:
    """The values an integer column can hold (a cursor beyond them would be a driver error)."""
    kind = getattr(column, "type", None)
    return next((bounds for cls, bounds in _INT_RANGES if isinstance(kind, cls)), _INT64)


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(key: bytes, scope: str, values: Sequence[Any]) -> str:
    payload = orjson.dumps([scope, *[_to_json(v) for v in values]])
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{signing.tag(key, _PURPOSE, payload)}"


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed.field(_CURSOR_LOC, "Invalid cursor; start again from the first page.")


def _parse(value: Any, kind: ValueKind, nullable: bool, bounds: tuple[int, int]) -> Any:
    if value is None:
        if nullable:
            return None
        raise _bad_cursor()
    try:
        if kind == "str" and isinstance(value, str):
            if "\x00" in value or len(value) > _MAX_TEXT:
                raise _bad_cursor()
            return value
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            if not bounds[0] <= value <= bounds[1]:
                raise _bad_cursor()
            return value
        if kind == "uuid" and isinstance(value, str):
            return uuid.UUID(value)
        if kind == "datetime" and isinstance(value, str):
            parsed = dt.datetime.fromisoformat(value)
            # encode_cursor writes UTC; anything else (or no zone) was not made here.
            if parsed.utcoffset() != dt.timedelta(0):
                raise _bad_cursor()
            return parsed
    except ValueError:
        raise _bad_cursor() from None
    raise _bad_cursor()


def decode_cursor(
    key: bytes,
    cursor: str,
    scope: str,
    kinds: Sequence[ValueKind],
    nullable: Sequence[bool] = (),
    *,
    int_bounds: tuple[int, int] = _INT64,
) -> list[Any]:
    """The values an `encode_cursor(key, scope, ...)` carried, or a 422 at ["query", "cursor"]."""
    body, sep, check = cursor.partition(".")
    if not sep:
        raise _bad_cursor()
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not signing.check(key, _PURPOSE, payload, check):
        raise _bad_cursor()
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise _bad_cursor() from None
    if not isinstance(data, list) or len(data) != len(kinds) + 1 or data[0] != scope:
        raise _bad_cursor()
    flags = list(nullable) + [False] * (len(kinds) - len(nullable))
    return [_parse(v, k, n, int_bounds) for v, k, n in zip(data[1:], kinds, flags, strict=True)]


def _page_query(stmt: Select[E], sort: SortSpec, full_scope: str, page: PageRequest) -> Select[E]:
    if not page.key:
        raise RuntimeError("no secret key: Resources.secret_key is empty")
    if page.cursor is not None:
        value, row_id = decode_cursor(
            page.key,
            page.cursor,
            full_scope,
            [sort.kind, "uuid"],
            [sort.nullable, False],
            int_bounds=int_range(sort.column),
        )
        stmt = stmt.where(sort.after(value, row_id))
    return stmt.order_by(*sort.order_by()).limit(page.limit + 1)


def _cut(
    rows: list[R], sort: SortSpec, full_scope: str, page: PageRequest
) -> tuple[list[R], str | None]:
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    values = [getattr(last, sort.attr), getattr(last, "id")]  # noqa: B009
    return rows, encode_cursor(page.key, full_scope, values)


async def paginate(
    session: AsyncSession,
    stmt: Select[E],
    *,
    sort: SortSpec,
    scope: str,
    page: PageRequest,
) -> tuple[list[E], str | None]:
    """One page of `stmt` (a select of one entity) in `sort` order, and the next cursor."""
    full_scope = f"{scope}:{sort.name}"
    stmt = _page_query(stmt, sort, full_scope, page)
    return _cut(list((await session.scalars(stmt)).all()), sort, full_scope, page)


async def paginate_rows(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    sort: SortSpec,
    scope: str,
    page: PageRequest,
) -> tuple[list[Row[Any]], str | None]:
    """`paginate` for a select of columns (`sort.attr` and `id` among them): Core rows,
    for hot reads that skip the ORM's identity map and object construction."""
    full_scope = f"{scope}:{sort.name}"
    stmt = _page_query(stmt, sort, full_scope, page)
    return _cut(list((await session.execute(stmt)).all()), sort, full_scope, page)
