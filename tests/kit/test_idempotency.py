"""Idempotency-Key on POST: replay, different body, per-user keys, in-flight duplicates."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import API, Team, assert_problem, events


def _key() -> dict[str, str]:
    return {"Idempotency-Key": f"key-{uuid.uuid4()}"}


async def _count(team: Team) -> int:
    page = (await team["owner"].get(f"{API}/projects/{team.project_id}/tasks")).json()
    return len(page["items"])


async def test_retry_returns_first_response_and_does_nothing(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    headers = _key()
    first = await team["member"].post(url, json={"title": "once"}, headers=headers)
    assert first.status_code == 201
    seq = (await events(team["owner"], team.project_id))[-1]["seq"]
    again = await team["member"].post(
        url,
        content=b'{ "title" : "once" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(team) == 1
    assert (await events(team["owner"], team.project_id))[-1]["seq"] == seq


async def test_same_key_different_body_is_422(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    headers = _key()
    assert (await team["member"].post(url, json={"title": "a"}, headers=headers)).status_code == 201
    response = await team["member"].post(url, json={"title": "b"}, headers=headers)
    body = assert_problem(response, 422, field="Idempotency-Key")
    assert body["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert await _count(team) == 1


async def test_keys_are_per_user_and_per_path(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    headers = _key()
    a = await team["member"].post(url, json={"title": "same"}, headers=headers)
    b = await team["admin"].post(url, json={"title": "same"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    label = await team["member"].post(
        f"{API}/projects/{team.project_id}/labels", json={"title": "same"}, headers=headers
    )
    assert_problem(label, 422, field="title")  # ran: a different path is a different key
    assert await _count(team) == 2


async def test_stored_validation_error_is_replayed(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    headers = _key()
    first = await team["member"].post(url, json={"title": ""}, headers=headers)
    assert_problem(first, 422, field="title")
    again = await team["member"].post(url, json={"title": ""}, headers=headers)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"


async def test_forbidden_is_not_stored(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    headers = _key()
    client = team["member"]
    csrf = client.headers.pop("X-CSRF-Token")
    try:
        assert_problem(await client.post(url, json={"title": "x"}, headers=headers), 403)
    finally:
        client.headers["X-CSRF-Token"] = csrf
    response = await client.post(url, json={"title": "x"}, headers=headers)
    assert response.status_code == 201
    assert "idempotent-replayed" not in response.headers


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\tkey"])
async def test_invalid_key(team: Team, key: str) -> None:
    response = await team["member"].post(
        f"{API}/projects/{team.project_id}/tasks",
        json={"title": "x"},
        headers={"Idempotency-Key": key},
    )
    assert_problem(response, 422, field="Idempotency-Key")
    assert await _count(team) == 0


async def test_concurrent_duplicates_run_once(team: Team) -> None:
    url = f"{API}/projects/{team.project_id}/tasks"
    headers = _key()
    responses = await asyncio.gather(
        *(team["member"].post(url, json={"title": "race"}, headers=headers) for _ in range(6))
    )
    created = [r for r in responses if r.status_code == 201]
    conflicts = [r for r in responses if r.status_code == 409]
    assert len(created) + len(conflicts) == 6
    assert len({r.json()["id"] for r in created}) == 1
    for r in conflicts:
        assert_problem(r, 409)
    assert await _count(team) == 1


async def test_other_methods_ignore_the_header(team: Team) -> None:
    headers = _key()
    url = f"{API}/projects/{team.project_id}"
    a = await team["owner"].patch(url, json={"name": "one"}, headers=headers)
    b = await team["owner"].patch(url, json={"name": "two"}, headers=headers)
    assert (a.status_code, b.status_code) == (200, 200)
    assert b.json()["name"] == "two"
