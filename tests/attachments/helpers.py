"""Uploads as a browser or a script sends them: multipart bodies, whole or streamed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx

from tests.helpers import API

BOUNDARY = "tm-test-boundary-7d3f"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def multipart(
    data: bytes,
    *,
    filename: str | None = "file.bin",
    content_type: str = "application/octet-stream",
    field: str = "file",
    fields: dict[str, str] | None = None,
) -> bytes:
    """One multipart/form-data body with the fixed BOUNDARY; `fields`: text parts first."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in (fields or {}).items()
    ]
    disposition = f'form-data; name="{field}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    parts.append(
        f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        f"Content-Type: {content_type}\r\n\r\n".encode()
    )
    return b"".join(parts) + data + f"\r\n--{BOUNDARY}--\r\n".encode()


MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def upload(
    client: httpx.AsyncClient,
    task_id: str,
    data: bytes,
    *,
    filename: str = "file.bin",
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        f"{API}/tasks/{task_id}/attachments",
        files={"file": (filename, data, content_type)},
        headers=headers,
    )


async def streamed(body: bytes, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    """The body in chunks, as a generator: httpx sends it chunked, without Content-Length."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


async def eventually(check: Callable[[], Awaitable[Any]], expected: Any) -> None:
    """Wait for background work (a job) to make `check()` return `expected` (bounded)."""
    value = None
    for _ in range(200):
        value = await check()
        if value == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still {value!r}, expected {expected!r}")
