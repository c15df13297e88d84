"""Attachment files outlive a restart and go with their task, project or uploader; files that
no row names (a crash between storing and recording) are swept by a job or the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from taskmanager.attachments.jobs import SWEEP_JOB, sweep_orphans
from taskmanager.attachments.storage import storage_for
from taskmanager.config import Settings
from taskmanager.jobs.queue import enqueue
from taskmanager.jobs.registry import open_session
from tests.attachments.conftest import Stored, World
from tests.attachments.helpers import PNG, eventually, upload
from tests.helpers import (
    API,
    PASSWORD,
    ApiClient,
    add_member,
    create_project,
    create_task,
    events,
)
from tests.processes import base_env
from tests.server import run_server


async def _attach(client: ApiClient, task_id: str, data: bytes = PNG) -> dict[str, Any]:
    response = await upload(client, task_id, data, filename="a.png", content_type="image/png")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _key(project_id: str, task_id: str, attachment: dict[str, Any]) -> str:
    return f"{project_id}/{task_id}/{attachment['id']}"


async def test_deleting_a_task_removes_its_and_its_subtasks_files(world: World) -> None:
    team, stored = world.team, world.stored
    pid = team.project_id
    parent = await create_task(team["member"], pid, "Parent")
    child = await create_task(team["member"], pid, "Child", parent_id=parent["id"])
    keep = await create_task(team["member"], pid, "Keep")
    doomed = {
        _key(pid, parent["id"], await _attach(team["member"], parent["id"])),
        _key(pid, child["id"], await _attach(team["member"], child["id"])),
    }
    kept = _key(pid, keep["id"], await _attach(team["member"], keep["id"]))
    assert doomed | {kept} <= await stored.keys()
    assert (await team["member"].delete(f"{API}/tasks/{parent['id']}")).status_code == 204
    await eventually(lambda: _present(stored, doomed | {kept}), {kept})


async def _present(stored: Stored, keys: set[str]) -> set[str]:
    return keys & await stored.keys()


async def test_deleting_a_project_removes_its_files(world: World) -> None:
    owner, stored = world.team["owner"], world.stored
    project = await create_project(owner, "Short-lived")
    tasks = [await create_task(owner, project["id"], f"T{i}") for i in range(2)]
    keys = {_key(project["id"], t["id"], await _attach(owner, t["id"])) for t in tasks}
    assert keys <= await stored.keys()
    assert (await owner.delete(f"{API}/projects/{project['id']}")).status_code == 204
    await eventually(lambda: _present(stored, keys), set())


async def test_deleting_an_account_removes_its_uploads(world: World) -> None:
    team, stored = world.team, world.stored
    task = await create_task(team["owner"], team.project_id, "Shared")
    theirs = await _attach(team["admin"], task["id"])
    async with ApiClient(base_url=world.server.base_url, timeout=30) as leaver:
        await leaver.register()
        await add_member(team["owner"], team.project_id, leaver, "member")
        mine = await _attach(leaver, task["id"])
        response = await leaver.request("DELETE", f"{API}/auth/me", json={"password": PASSWORD})
        assert response.status_code == 204, response.text
    log = await events(team["owner"], team.project_id)
    gone = [e for e in log if e["name"] == "attachment.deleted"]
    assert gone[-1]["data"] == {"id": mine["id"], "task_id": task["id"]}
    listed = await team["owner"].get(f"{API}/tasks/{task['id']}/attachments")
    assert [a["id"] for a in listed.json()["items"]] == [theirs["id"]]
    key = _key(team.project_id, task["id"], mine)
    await eventually(lambda: _present(stored, {key}), set())


async def test_files_survive_a_restart(world: World, attachment_settings: Settings) -> None:
    # A data directory of its own: on the embedded default, the restarted server is the only
    # one using its SQLite file, as `taskmanager serve` would be. Storage of its own too: its
    # files would be orphans to the sweeps of `world`, whose database does not know them.
    stored = world.stored
    if stored.s3 is not None:
        bucket = await stored.s3.create_bucket()
        storage: dict[str, Any] = {"s3_url": f"{stored.s3.endpoint}/{bucket}"}
    else:
        storage = {"attachments_dir": Path(tempfile.mkdtemp(prefix="tm-restart-files-"))}
    settings = attachment_settings.model_copy(
        update={"data_dir": Path(tempfile.mkdtemp(prefix="tm-restart-")), **storage}
    )
    async with (
        run_server(settings) as first,
        ApiClient(base_url=first.base_url, timeout=30) as client,
    ):
        await client.register()
        project = await create_project(client, "Restarted")
        task = await create_task(client, project["id"])
        attachment = await _attach(client, task["id"])
        token = (await client.post(f"{API}/auth/tokens", json={"name": "restart"})).json()
    async with (
        run_server(settings) as second,
        ApiClient(
            base_url=second.base_url,
            timeout=30,
            headers={"Authorization": f"Bearer {token['token']}"},
        ) as again,
    ):
        content = await again.get(f"{API}/attachments/{attachment['id']}/content")
        assert content.status_code == 200
        assert content.content == PNG


async def _stray(world: World, key: str) -> None:
    """A file with no row, as a crash between storing and recording leaves it."""

    async def chunks() -> Any:
        yield b"left behind"

    await storage_for(world.server.settings).put(key, chunks())


async def test_orphans_are_swept(world: World) -> None:
    team, stored = world.team, world.stored
    task = await create_task(team["member"], team.project_id, "Swept")
    live = _key(team.project_id, task["id"], await _attach(team["member"], task["id"]))
    stray = f"{team.project_id}/{task['id']}/00000000-0000-4000-8000-00000000beef"
    await _stray(world, stray)
    resources = world.server.resources
    # Young files may be uploads still arriving: left alone.
    assert await sweep_orphans(resources) == 0
    assert {live, stray} <= await stored.keys()
    if stored.root is not None:
        # Backdated, then swept by the job, as the worker would run it.
        old = time.time() - 2 * 3600
        os.utime(stored.root / stray, (old, old))
        async with await open_session(resources) as session:
            await enqueue(session, SWEEP_JOB, {})
            await session.commit()
        assert resources.jobs is not None
        resources.jobs.wake()
        await eventually(lambda: _present(stored, {live, stray}), {live})
    else:
        # Object stores keep their own timestamps: sweep with no minimum age instead.
        assert await sweep_orphans(resources, older_than=dt.timedelta(0)) == 1
        assert await _present(stored, {live, stray}) == {live}


async def test_sweep_command(world: World) -> None:
    """`taskmanager attachments sweep`, run as an operator would, against the same data."""
    settings = world.server.settings
    task = await create_task(world.team["member"], world.team.project_id, "CLI")
    stray = f"{world.team.project_id}/{task['id']}/00000000-0000-4000-8000-0000000c11a0"
    await _stray(world, stray)
    env = base_env(
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        data_dir=str(settings.data_dir),
        attachments_dir=str(settings.attachments_dir) if settings.attachments_dir else None,
        s3_url=settings.s3_url,
        s3_access_key_id=settings.s3_access_key_id,
        s3_secret_access_key=(
            settings.s3_secret_access_key.get_secret_value()
            if settings.s3_secret_access_key
            else None
        ),
    )
    command = [str(Path(sys.executable).with_name("taskmanager")), "attachments", "sweep"]
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "--older-than-minutes", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "removed 1 orphaned attachment file(s)" in result.stdout
    assert stray not in await world.stored.keys()
