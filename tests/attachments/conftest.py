"""Attachment servers on both storages: a local directory, and S3 on a real S3-speaking server
(moto's server mode, its own process and virtualenv: `make s3-server`)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from taskmanager.config import Settings
from tests import backends
from tests.helpers import Team, make_team
from tests.isolated import isolated_server
from tests.processes import free_port
from tests.server import RunningServer

S3_SERVER_PYTHON = Path(__file__).resolve().parents[2] / ".venv-s3server" / "bin" / "python"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# Above obstore's 5 MiB part size, so S3 uploads near the limit are multipart uploads (and a
# refused one must be aborted, not left half-done).
MAX_BYTES = 6 * 1024 * 1024


@dataclass
class S3Server:
    endpoint: str

    async def create_bucket(self) -> str:
        bucket = f"tm-{uuid.uuid4().hex[:12]}"
        async with httpx.AsyncClient() as client:
            response = await client.put(f"{self.endpoint}/{bucket}")
            assert response.status_code == 200, response.text
        return bucket

    async def _list(self, bucket: str, query: str) -> ElementTree.Element:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.endpoint}/{bucket}?{query}")
            assert response.status_code == 200, response.text
        # The test's own S3 server on loopback: trusted XML.
        return ElementTree.fromstring(response.content)  # noqa: S314

    async def keys(self, bucket: str) -> set[str]:
        listing = await self._list(bucket, "list-type=2")
        return {el.text or "" for el in listing.iter(f"{S3_NS}Key")}

    async def pending_uploads(self, bucket: str) -> set[str]:
        """Keys of multipart uploads begun and neither completed nor aborted."""
        listing = await self._list(bucket, "uploads")
        return {el.text or "" for el in listing.iter(f"{S3_NS}Key")}


@pytest.fixture(scope="session")
async def s3_server() -> AsyncIterator[S3Server]:
    if not S3_SERVER_PYTHON.exists():
        pytest.fail("the S3 test server is not installed: run `make s3-server`")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(S3_SERVER_PYTHON), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            async with httpx.AsyncClient() as client:
                for _ in range(300):
                    if process.poll() is not None:
                        log.seek(0)
                        pytest.fail(f"moto server exited: {log.read().decode(errors='replace')}")
                    try:
                        await client.get(endpoint + "/")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            yield S3Server(endpoint)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            await asyncio.to_thread(process.wait, 10)


@dataclass
class Stored:
    """What is in the storage of one attachment server, looked at from outside the app."""

    kind: str
    root: Path | None = None
    s3: S3Server | None = None
    bucket: str | None = None

    async def keys(self) -> set[str]:
        """Every stored file, partial uploads included."""
        if self.s3 is not None and self.bucket is not None:
            return await self.s3.keys(self.bucket) | await self.s3.pending_uploads(self.bucket)
        assert self.root is not None
        if not self.root.exists():
            return set()
        return {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}

    def settings(self) -> dict[str, Any]:
        if self.s3 is not None:
            return {
                "s3_url": f"{self.s3.endpoint}/{self.bucket}",
                "s3_access_key_id": "testing",
                "s3_secret_access_key": "testing-secret",
            }
        return {"attachments_dir": self.root}


@dataclass
class World:
    server: RunningServer
    team: Team
    stored: Stored


@pytest.fixture(scope="module", params=["local", "s3"])
async def stored(request: pytest.FixtureRequest, s3_server: S3Server) -> Stored:
    if request.param == "local":
        return Stored("local", root=Path(tempfile.mkdtemp(prefix="tm-attachments-")))
    return Stored("s3", s3=s3_server, bucket=await s3_server.create_bucket())


@pytest.fixture(scope="module")
async def attachment_settings(
    stored: Stored, make_settings: Callable[..., Settings], migrated: None
) -> Settings:
    return make_settings(attachment_max_bytes=MAX_BYTES, **stored.settings())


@pytest.fixture(scope="module")
async def world(
    backend: backends.Backend, make_settings: Callable[..., Settings], stored: Stored
) -> AsyncIterator[World]:
    """A server on a database of its own: the purge and sweep jobs its deletes enqueue must
    be run by its worker, with its storage (another server's worker, configured with local
    storage, took them now and then and left the S3 files behind)."""
    async with isolated_server(
        backend, make_settings, attachment_max_bytes=MAX_BYTES, **stored.settings()
    ) as running:
        team = await make_team(running.base_url, "Files")
        try:
            yield World(running, team, stored)
        finally:
            await team.aclose()
