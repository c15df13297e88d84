"""Attachments on both storages: upload, list, safe download, delete, limits, bad input, roles."""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any

from tests.attachments.conftest import MAX_BYTES, World
from tests.attachments.helpers import (
    MULTIPART,
    PNG,
    eventually,
    multipart,
    streamed,
    upload,
)
from tests.helpers import API, assert_problem, create_task, events, expect_statuses


async def _task(world: World) -> dict[str, Any]:
    return await create_task(world.team["member"], world.team.project_id, "With files")


async def _list(world: World, task_id: str, **params: Any) -> dict[str, Any]:
    response = await world.team["viewer"].get(f"{API}/tasks/{task_id}/attachments", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_upload_list_download_delete(world: World) -> None:
    team, stored = world.team, world.stored
    task = await _task(world)
    before = await stored.keys()
    response = await upload(
        team["member"],
        task["id"],
        PNG,
        filename="wire frame.png",
        content_type="image/png",
        headers={"X-Request-ID": "att-1"},
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert {k: created[k] for k in ("task_id", "filename", "content_type", "size", "sha256")} == {
        "task_id": task["id"],
        "filename": "wire frame.png",
        "content_type": "image/png",
        "size": len(PNG),
        "sha256": hashlib.sha256(PNG).hexdigest(),
    }
    assert created["created_by"] == team.user_id("member")
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"], event["data"]) == (
        "attachment.created",
        "att-1",
        created,
    )
    assert await stored.keys() == before | {f"{team.project_id}/{task['id']}/{created['id']}"}

    second = (await upload(team["admin"], task["id"], b"notes", filename="notes.txt")).json()
    first_page = await _list(world, task["id"], limit=1)
    rest = await _list(world, task["id"], limit=1, cursor=first_page["next_cursor"])
    assert [a["id"] for a in first_page["items"] + rest["items"]] == [created["id"], second["id"]]
    assert rest["next_cursor"] is None
    one = await team["viewer"].get(f"{API}/attachments/{created['id']}")
    assert one.json() == created

    content = await team["viewer"].get(f"{API}/attachments/{created['id']}/content")
    assert content.status_code == 200
    assert content.content == PNG
    assert content.headers["content-type"] == "image/png"
    assert content.headers["content-disposition"] == (
        "attachment; filename=\"wire frame.png\"; filename*=UTF-8''wire%20frame.png"
    )
    assert content.headers["x-content-type-options"] == "nosniff"
    assert content.headers["content-security-policy"] == "sandbox"
    inline = await team["viewer"].get(
        f"{API}/attachments/{created['id']}/content", params={"disposition": "inline"}
    )
    assert inline.headers["content-disposition"].startswith("inline; ")

    deleted = await team["member"].delete(
        f"{API}/attachments/{created['id']}", headers={"X-Request-ID": "att-2"}
    )
    assert deleted.status_code == 204
    event = (await events(team["owner"], team.project_id))[-1]
    assert (event["name"], event["request_id"], event["data"]) == (
        "attachment.deleted",
        "att-2",
        {"id": created["id"], "task_id": task["id"]},
    )
    assert_problem(await team["viewer"].get(f"{API}/attachments/{created['id']}/content"), 404)
    assert [a["id"] for a in (await _list(world, task["id"]))["items"]] == [second["id"]]
    # The bytes go by a job, once the delete has committed.
    key = f"{team.project_id}/{task['id']}/{second['id']}"
    await eventually(stored.keys, before | {key})


async def test_large_upload_streams_and_hashes(world: World) -> None:
    """A file of exactly the limit, sent chunked (S3: a multipart upload of two parts)."""
    task = await _task(world)
    data = hashlib.sha256(b"seed").digest() * (MAX_BYTES // 32)
    assert len(data) == MAX_BYTES
    response = await world.team["member"].post(
        f"{API}/tasks/{task['id']}/attachments",
        content=streamed(multipart(data, filename="big.bin")),
        headers=MULTIPART,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["size"], response.json()["sha256"]) == (
        MAX_BYTES,
        hashlib.sha256(data).hexdigest(),
    )
    content = await world.team["member"].get(f"{API}/attachments/{response.json()['id']}/content")
    assert content.headers["content-type"] == "application/octet-stream"
    assert hashlib.sha256(content.content).hexdigest() == hashlib.sha256(data).hexdigest()


async def test_too_large_is_cut_off_mid_stream_and_leaves_nothing(world: World) -> None:
    team, stored = world.team, world.stored
    task = await _task(world)
    before = await stored.keys()
    seq = (await events(team["owner"], team.project_id))[-1]["seq"]
    body = multipart(b"x" * (MAX_BYTES + 1), filename="too-big.bin")
    # Chunked, no Content-Length: only counting the stream can find it too large.
    response = await team["member"].post(
        f"{API}/tasks/{task['id']}/attachments", content=streamed(body), headers=MULTIPART
    )
    problem = assert_problem(response, 413)
    assert str(MAX_BYTES) in problem["detail"]
    assert (await _list(world, task["id"]))["items"] == []
    assert await stored.keys() == before
    assert (await events(team["owner"], team.project_id))[-1]["seq"] == seq
    # A declared length over the allowance is refused before the body is read.
    declared = await team["member"].post(
        f"{API}/tasks/{task['id']}/attachments",
        content=multipart(b"y" * (MAX_BYTES + 128 * 1024)),
        headers=MULTIPART,
    )
    assert_problem(declared, 413)
    assert await stored.keys() == before


async def test_html_and_executables_are_only_ever_downloads(world: World) -> None:
    team = world.team
    task = await _task(world)
    page = b"<!doctype html><script>alert(document.cookie)</script>"
    cases = [
        ("page.html", "text/html", page, "text/html"),
        ("fake.png", "image/png", page, "application/octet-stream"),  # claims an image
        ("logo.svg", "image/svg+xml", b"<svg onload=alert(1)/>", "application/octet-stream"),
        ("run.exe", "application/x-msdownload", b"MZ\x90\x00", "application/x-msdownload"),
    ]
    for filename, declared, data, recorded in cases:
        created = await upload(
            team["member"], task["id"], data, filename=filename, content_type=declared
        )
        assert created.status_code == 201, created.text
        assert created.json()["content_type"] == recorded
        for disposition in ("attachment", "inline"):
            content = await team["member"].get(
                f"{API}/attachments/{created.json()['id']}/content",
                params={"disposition": disposition},
            )
            assert content.content == data
            assert content.headers["content-type"] == "application/octet-stream"
            assert content.headers["content-disposition"].startswith("attachment; ")
            assert content.headers["x-content-type-options"] == "nosniff"
            assert content.headers["content-security-policy"] == "sandbox"


async def test_filenames_are_cleaned(world: World) -> None:
    task = await _task(world)
    names = {
        "../../etc/passwd": "passwd",
        "C:\\Users\\me\\report.pdf": "report.pdf",
        "a\x00b\x1b[31mc\u202e.txt": "a b [31mc .txt",
        "...": "file",
        "résumé 2026.pdf": "résumé 2026.pdf",
        "x" * 300 + ".jpeg": "x" * 250 + ".jpeg",
    }
    for raw, clean in names.items():
        body = multipart(b"data", filename=raw.replace('"', ""))
        response = await world.team["member"].post(
            f"{API}/tasks/{task['id']}/attachments", content=body, headers=MULTIPART
        )
        assert response.status_code == 201, response.text
        assert response.json()["filename"] == clean
    content = await world.team["member"].get(f"{API}/attachments/{response.json()['id']}/content")
    assert content.headers["content-disposition"].endswith(urllib.parse.quote(clean, safe=""))


async def test_bad_multipart(world: World) -> None:
    team, stored = world.team, world.stored
    task = await _task(world)
    url = f"{API}/tasks/{task['id']}/attachments"
    before = await stored.keys()
    member = team["member"]
    assert_problem(await member.post(url, json={"file": "x"}), 415)
    assert_problem(
        await member.post(url, content=b"x", headers={"Content-Type": "text/plain"}), 415
    )
    no_boundary = await member.post(
        url, content=b"x", headers={"Content-Type": "multipart/form-data"}
    )
    assert_problem(no_boundary, 415)
    other_field = multipart(b"hello", field="document")
    assert_problem(
        await member.post(url, content=other_field, headers=MULTIPART), 422, field="file"
    )
    no_filename = multipart(b"hello", filename=None)
    assert_problem(
        await member.post(url, content=no_filename, headers=MULTIPART), 422, field="file"
    )
    truncated = multipart(b"hello")[:-20]
    assert_problem(await member.post(url, content=truncated, headers=MULTIPART), 400)
    assert_problem(await member.post(url, content=b"", headers=MULTIPART), 400)
    # Other fields before the file are skipped.
    extra = multipart(b"ok", fields={"comment": "a note", "other": "x" * 1000})
    fine = await member.post(url, content=extra, headers=MULTIPART)
    assert fine.status_code == 201, fine.text
    assert (await _list(world, task["id"]))["items"][0]["size"] == 2
    assert len(await stored.keys() - before) == 1


async def test_roles(world: World) -> None:
    team = world.team
    task = await _task(world)
    ids: list[str] = []

    async def post(client: Any, role: str) -> Any:
        response = await upload(client, task["id"], role.encode(), filename=f"{role}.txt")
        if response.status_code == 201:
            ids.append(response.json()["id"])
        return response

    await expect_statuses(
        team,
        {
            "owner": 201,
            "admin": 201,
            "member": 201,
            "viewer": 403,
            "outsider": 404,
            "anonymous": 401,
        },
        post,
    )
    await expect_statuses(
        team,
        {"viewer": 200, "outsider": 404, "anonymous": 401},
        lambda c, _: c.get(f"{API}/attachments/{ids[0]}/content"),
    )
    await expect_statuses(
        team,
        {"viewer": 403, "outsider": 404, "anonymous": 401, "member": 204},
        lambda c, _: c.delete(f"{API}/attachments/{ids[0]}"),
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(await upload(team["member"], missing, b"x"), 404)
    assert_problem(await team["member"].get(f"{API}/attachments/{missing}/content"), 404)


async def test_an_upload_retried_with_its_idempotency_key_is_stored_once(world: World) -> None:
    team, stored = world.team, world.stored
    task = await _task(world)
    url = f"{API}/tasks/{task['id']}/attachments"
    key = {"Idempotency-Key": "upload-once"}
    body = multipart(PNG, filename="once.png", content_type="image/png")
    first = await team["member"].post(url, content=streamed(body), headers=MULTIPART | key)
    assert first.status_code == 201, first.text
    before = await stored.keys()
    again = await team["member"].post(url, content=streamed(body), headers=MULTIPART | key)
    assert again.headers.get("idempotent-replayed") == "true"
    assert (again.status_code, again.json()) == (201, first.json())
    other = multipart(b"other bytes", filename="once.png")
    assert_problem(await team["member"].post(url, content=other, headers=MULTIPART | key), 422)
    assert [a["id"] for a in (await _list(world, task["id"]))["items"]] == [first.json()["id"]]
    assert await stored.keys() == before


async def test_archived_projects_take_no_files(world: World) -> None:
    team, stored = world.team, world.stored
    task = await _task(world)
    attachment = (await upload(team["member"], task["id"], b"kept")).json()
    project = f"{API}/projects/{team.project_id}"
    assert (await team["admin"].patch(project, json={"archived": True})).status_code == 200
    before = await stored.keys()
    try:
        refused = assert_problem(await upload(team["member"], task["id"], b"late"), 409)
        assert refused["code"] == "project_archived"
        gone = await team["member"].delete(f"{API}/attachments/{attachment['id']}")
        assert assert_problem(gone, 409)["code"] == "project_archived"
        content = await team["viewer"].get(f"{API}/attachments/{attachment['id']}/content")
        assert content.content == b"kept"
        assert await stored.keys() == before
    finally:
        await team["admin"].patch(project, json={"archived": False})
