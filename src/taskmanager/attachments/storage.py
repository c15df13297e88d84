"""Where attachment bytes live: one small interface, a local directory or S3-compatible storage.

Keys are `<project_id>/<task_id>/<attachment_id>`, so a deleted task's or project's files
can be found by prefix once their rows are gone. Writes are all or nothing: a local file
is written under a temporary name and renamed when complete; an object store commits an
object (or the last part of a multipart upload) only when the stream ended, so a failed
or refused upload leaves no object behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from taskmanager.config import Settings

CHUNK_BYTES = 64 * 1024
_PARTIAL = ".part"


class Storage(Protocol):
    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        """Store the stream under `key`; if the stream raises, nothing is kept and it re-raises."""

    def open(self, key: str) -> AsyncGenerator[bytes]:
        """The stored bytes, in chunks (FileNotFoundError if there are none)."""

    async def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error (deletes are retried by jobs)."""

    def list(self, prefix: str = "") -> AsyncIterator[tuple[str, dt.datetime]]:
        """Every stored key under `prefix` (partial uploads included) with when it was written."""


def key_for(project_id: uuid.UUID, task_id: uuid.UUID, attachment_id: uuid.UUID) -> str:
    return f"{project_id}/{task_id}/{attachment_id}"


class LocalStorage:
    """A directory tree; every process that serves the data must see the same directory."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"bad storage key {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        path = self._path(key)
        partial = path.with_name(path.name + _PARTIAL)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            try:
                async for chunk in chunks:
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(handle.flush)
                await asyncio.to_thread(os.fsync, handle.fileno())
            finally:
                await asyncio.to_thread(handle.close)
            # Atomic within one directory: readers see the whole file or none.
            await asyncio.to_thread(partial.replace, path)
        except BaseException:
            await asyncio.to_thread(partial.unlink, missing_ok=True)
            raise

    async def open(self, key: str) -> AsyncGenerator[bytes]:
        # No handle is held between chunks: a download the client abandons (its generator
        # never finished) leaves no open file behind.
        path = self._path(key)
        offset = 0
        while chunk := await asyncio.to_thread(_read_at, path, offset):
            offset += len(chunk)
            yield chunk

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        await asyncio.to_thread(path.with_name(path.name + _PARTIAL).unlink, missing_ok=True)

    async def list(self, prefix: str = "") -> AsyncIterator[tuple[str, dt.datetime]]:
        base = self._path(prefix) if prefix.strip("/") else self.root
        found = await asyncio.to_thread(_walk, base)
        for path, mtime in found:
            key = path.relative_to(self.root).as_posix()
            yield key.removesuffix(_PARTIAL), mtime


def _read_at(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        handle.seek(offset)
        return handle.read(CHUNK_BYTES)


def _walk(base: Path) -> list[tuple[Path, dt.datetime]]:
    if not base.is_dir():
        return []
    return [
        (path, dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC))
        for path in base.rglob("*")
        if path.is_file()
    ]


class S3Storage:
    """An S3-compatible bucket (AWS, MinIO, Ceph, ...) through obstore.

    Large files go up as a multipart upload in 5 MiB parts, so a file is never whole in
    memory; if the stream fails, obstore aborts the multipart upload and no object exists.
    """

    def __init__(self, settings: Settings) -> None:
        from obstore.store import S3Store

        assert settings.s3_url is not None
        url = urlsplit(settings.s3_url)
        secret = settings.s3_secret_access_key
        credentials: dict[str, str] = {}
        if settings.s3_access_key_id:
            credentials["access_key_id"] = settings.s3_access_key_id
        if secret is not None:
            credentials["secret_access_key"] = secret.get_secret_value()
        self.store = S3Store(
            url.path.strip("/"),
            endpoint=f"{url.scheme}://{url.netloc}",
            region=settings.s3_region,
            virtual_hosted_style_request=False,
            client_options={"allow_http": url.scheme == "http"},
            **credentials,  # type: ignore[arg-type]
        )

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> None:
        import obstore

        failure: BaseException | None = None

        async def guarded() -> AsyncIterator[bytes]:
            # obstore reports a failing stream as its own error: keep ours to re-raise it.
            nonlocal failure
            try:
                async for chunk in chunks:
                    yield chunk
            except BaseException as exc:
                failure = exc
                raise

        try:
            await obstore.put_async(self.store, key, guarded())
        except BaseException:
            if failure is not None:
                raise failure from None
            raise

    async def open(self, key: str) -> AsyncGenerator[bytes]:
        import obstore

        result = await obstore.get_async(self.store, key)
        async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
            yield bytes(chunk)

    async def delete(self, key: str) -> None:
        import obstore

        # S3's DeleteObject succeeds for a missing key: deletes are idempotent.
        await obstore.delete_async(self.store, key)

    async def list(self, prefix: str = "") -> AsyncIterator[tuple[str, dt.datetime]]:
        import obstore

        async for batch in obstore.list(self.store, prefix or None):
            for meta in batch:
                yield meta["path"], meta["last_modified"]


_STORES: dict[tuple[str | None, Path], Storage] = {}


def storage_for(settings: Settings) -> Storage:
    """The process's storage for these settings (built once: the S3 client pools connections)."""
    where = (settings.s3_url, settings.attachment_dir)
    store = _STORES.get(where)
    if store is None:
        store = _STORES[where] = (
            S3Storage(settings) if settings.s3_url else LocalStorage(settings.attachment_dir)
        )
    return store
