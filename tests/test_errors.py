"""Every error is RFC 9457 problem+json with the right status, and no internals leak."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from taskmanager.app import create_app
from taskmanager.config import Settings
from tests.helpers import ApiClient, assert_problem, unique_email
from tests.server import run_server

REGISTER = "/api/v1/auth/register"


async def test_unknown_route_is_404_problem(client: ApiClient) -> None:
    body = assert_problem(await client.get("/api/v1/nope"), 404)
    assert body["instance"] == "/api/v1/nope"


async def test_wrong_method_is_405_problem(client: ApiClient) -> None:
    response = await client.put("/api/v1/auth/me", json={})
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_400(client: ApiClient) -> None:
    response = await client.post(
        REGISTER, content=b'{"email": "a@b.c", ', headers={"Content-Type": "application/json"}
    )
    body = assert_problem(response, 400)
    assert "JSON" in body["detail"]


async def test_wrong_content_type_is_415(client: ApiClient) -> None:
    response = await client.post(
        REGISTER,
        content=b"email=a@b.c",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_problem(response, 415)
    no_type = await client.post(
        REGISTER, content=b'{"email": "a@b.c"}', headers={"Content-Type": ""}
    )
    assert_problem(no_type, 415)


async def test_body_over_limit_is_413_with_and_without_length(client: ApiClient) -> None:
    big = b'{"email": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    response = await client.post(
        REGISTER, content=big, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536  # chunked upload, no Content-Length

    chunked = await client.post(
        REGISTER, content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(chunked, 413)


async def test_validation_is_422_with_locations(client: ApiClient) -> None:
    response = await client.post(REGISTER, json={"email": "x", "password": 5})
    body = assert_problem(response, 422)
    locs = {tuple(e["loc"]) for e in body["errors"]}
    assert ("body", "email") in locs
    assert ("body", "password") in locs
    assert ("body", "display_name") in locs
    assert all(e["msg"] for e in body["errors"])
    not_object = await client.post(REGISTER, json=["a", "list"])
    assert_problem(not_object, 422)


async def test_sql_and_html_in_strings_are_data(client: ApiClient) -> None:
    name = "<script>alert(1)</script>'; DROP TABLE users; --"
    response = await client.post(
        REGISTER,
        json={"email": unique_email(), "password": "a sturdy passphrase 42", "display_name": name},
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert (await client.get("/api/v1/auth/me")).json()["display_name"] == name


@pytest.fixture
async def boom_server(migrated: None, make_settings: Callable[..., Settings]) -> AsyncIterator[str]:
    app = create_app(make_settings())

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2 at /srv/app.py")

    async with run_server(make_settings(), app=app) as running:
        yield running.base_url


async def test_unhandled_error_is_500_without_internals(boom_server: str) -> None:
    async with httpx.AsyncClient(base_url=boom_server) as c:
        response = await c.get("/api/v1/boom")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    assert body["detail"] == "An unexpected error occurred."


async def test_request_id_is_echoed_or_generated(client: ApiClient) -> None:
    echoed = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = await client.get("/health/live", headers={"X-Request-ID": "bad id\twith junk"})
    assert generated.headers["x-request-id"] != "bad id\twith junk"
    assert len(generated.headers["x-request-id"]) == 32
