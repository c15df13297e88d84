"""A multipart/form-data request read as a stream: field `file`'s bytes are handed on as they
arrive (python-multipart's push parser), counted, hashed and cut off at the limit."""

from __future__ import annotations

import asyncio
import hashlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from taskmanager.errors import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

FIELD = "file"
# Room for the envelope around the file: boundaries, part headers, small extra fields.
ENVELOPE_BYTES = 64 * 1024
SNIFF_BYTES = 32
# Before a 413 mid-stream, this much of the rest is read and dropped (bounded in bytes and
# time), so the client is still listening when the answer comes (see middleware/body_limit).
LINGER_BYTES = 16 * 1024 * 1024
LINGER_SECONDS = 2.0

Event = tuple[str, bytes]


def missing_file() -> ValidationFailed:
    return ValidationFailed.field(
        ("body", FIELD), "Field required: send the file as multipart/form-data field 'file'."
    )


@dataclass(slots=True)
class FilePart:
    filename: str
    content_type: str


class MultipartStream:
    """One pass over the body: `file_part()` finds the field, `chunks()` yields its bytes,
    `finish()` reads to the closing boundary. Nothing is buffered beyond one network chunk."""

    def __init__(
        self, body: AsyncIterator[bytes], *, content_type: str, max_file_bytes: int
    ) -> None:
        media, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if media != b"multipart/form-data" or not boundary:
            raise UnsupportedMediaType(
                "Upload the file as multipart/form-data (with a boundary), field 'file'."
            )
        self._body = body
        self.max_file_bytes = max_file_bytes
        self._max_total = max_file_bytes + ENVELOPE_BYTES
        self._received = 0
        self._events: deque[Event] = deque()
        self._ended = False
        self.size = 0
        self.head = b""
        self._sha256 = hashlib.sha256()
        self._parser = MultipartParser(
            boundary,
            {
                "on_header_field": lambda d, s, e: self._events.append(("field", d[s:e])),
                "on_header_value": lambda d, s, e: self._events.append(("value", d[s:e])),
                "on_header_end": lambda: self._events.append(("header_end", b"")),
                "on_headers_finished": lambda: self._events.append(("headers", b"")),
                "on_part_data": lambda d, s, e: self._events.append(("data", d[s:e])),
                "on_part_end": lambda: self._events.append(("part_end", b"")),
                "on_end": lambda: self._events.append(("end", b"")),
            },
        )

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    async def _next(self) -> Event:
        while not self._events:
            if self._ended:
                raise BadRequest("Malformed multipart body: it ends before its closing boundary.")
            chunk = await anext(self._body, None)
            try:
                if chunk is None:
                    self._ended = True
                    self._parser.finalize()
                    continue
                self._received += len(chunk)
                if self._received > self._max_total:
                    raise await self._too_large()
                self._parser.write(chunk)
            except MultipartParseError as exc:
                raise ValidationFailed.field(
                    ("body",), f"Malformed multipart body: {exc}"
                ) from None
        return self._events.popleft()

    async def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        field = value = b""
        while (event := await self._next())[0] != "headers":
            kind, data = event
            if kind == "end":
                raise missing_file()
            if kind == "field":
                field += data
            elif kind == "value":
                value += data
            elif kind == "header_end":
                # Kept byte for byte (latin-1); a filename is decoded as UTF-8 later, as
                # browsers send it.
                headers[field.decode("latin-1").lower()] = value.decode("latin-1")
                field = value = b""
        return headers

    async def _skip_part(self) -> None:
        while (await self._next())[0] != "part_end":
            pass

    async def file_part(self) -> FilePart:
        """Read up to the start of field `file`'s bytes (other fields are skipped)."""
        while True:
            headers = await self._headers()
            _, params = parse_options_header(headers.get("content-disposition", ""))
            name = params.get(b"name", b"").decode("utf-8", "replace")
            filename = params.get(b"filename")
            if name == FIELD and filename is not None:
                return FilePart(
                    filename=filename.decode("utf-8", "replace"),
                    content_type=headers.get("content-type", ""),
                )
            if name == FIELD:
                raise ValidationFailed.field(("body", FIELD), "Must be a file (with a filename).")
            await self._skip_part()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The file's bytes as they arrive; PayloadTooLarge once it passes the limit."""
        while (event := await self._next())[0] != "part_end":
            data = bytes(event[1])
            if not data:
                continue
            self.size += len(data)
            if self.size > self.max_file_bytes:
                raise await self._too_large()
            if len(self.head) < SNIFF_BYTES:
                self.head += data[: SNIFF_BYTES - len(self.head)]
            self._sha256.update(data)
            yield data

    async def finish(self) -> None:
        """Read the rest of the body up to its closing boundary (later fields are ignored)."""
        while (await self._next())[0] != "end":
            pass

    async def _too_large(self) -> PayloadTooLarge:
        try:
            async with asyncio.timeout(LINGER_SECONDS):
                dropped = 0
                async for chunk in self._body:
                    dropped += len(chunk)
                    if dropped > LINGER_BYTES:
                        break
        except TimeoutError:
            pass
        return PayloadTooLarge(
            f"The file is larger than the limit of {self.max_file_bytes} bytes.",
            headers={"Connection": "close"},
        )
