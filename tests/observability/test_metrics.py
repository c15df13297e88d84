"""GET /metrics moves with real traffic: requests by route template, live connections,
events; the token protects it when set. Runs on both backends, in process."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from taskmanager.config import Settings
from tests.conftest import StartServer
from tests.helpers import API, ApiClient, assert_problem, create_project, create_task
from tests.observability.scrape import scrape, value, wait_for_value
from tests.realtime.wsclient import live
from tests.server import RunningServer

REQUESTS = "taskmanager_http_requests_total"
DURATION_COUNT = "taskmanager_http_request_duration_seconds_count"
LIVE = "taskmanager_realtime_connections"
TOKEN = "metrics-token-for-tests-0123456789"


async def test_requests_are_counted_by_route_template_never_raw_path(client: ApiClient) -> None:
    await client.register()
    project = await create_project(client, "Metrics")
    template = "/api/v1/projects/{project_id}"
    labels = {"method": "GET", "route": template, "status": "200"}
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"{API}/projects/{project['id']}")).status_code == 200
    assert (await client.get(f"{API}/projects/{project['id']}/nope")).status_code == 404
    after = await scrape(client)

    assert value(after, REQUESTS, **labels) == value(before, REQUESTS, **labels) + 3
    assert value(after, DURATION_COUNT, **labels) == value(before, DURATION_COUNT, **labels) + 3
    bucket = {**labels, "le": "+Inf"}
    name = "taskmanager_http_request_duration_seconds_bucket"
    assert value(after, name, **bucket) == value(after, DURATION_COUNT, **labels)
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert value(after, REQUESTS, **unmatched) >= value(before, REQUESTS, **unmatched) + 1
    routes = {dict(key[1]).get("route", "") for key in after}
    assert not any(project["id"] in route for route in routes), routes


async def test_metrics_endpoint_is_not_in_the_openapi_schema(client: ApiClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/metrics" not in spec["paths"]


async def test_websocket_gauge_and_event_counters_move(
    client: ApiClient, server: RunningServer
) -> None:
    await client.register()
    project = await create_project(client, "Live metrics")
    before = await scrape(client)
    async with live(server.ws_url, client) as ws:
        assert (await ws.subscribe(project["id"]))["type"] == "subscribed"
        await wait_for_value(client, LIVE, lambda v: v == 1, transport="websocket")
        await create_task(client, project["id"], "counted")
        [event] = await ws.events(1)
        assert event["name"] == "task.created"
        during = await scrape(client)
    await wait_for_value(client, LIVE, lambda v: v == 0, transport="websocket")

    published = "taskmanager_events_published_total"
    delivered = "taskmanager_events_delivered_total"
    assert value(before, LIVE, transport="websocket") == 0
    assert value(during, published) >= value(before, published) + 1
    assert value(during, delivered, transport="websocket") >= (
        value(before, delivered, transport="websocket") + 1
    )


async def test_sse_gauge_moves(client: ApiClient) -> None:
    await client.register()
    project = await create_project(client, "SSE metrics")
    url = f"{API}/projects/{project['id']}/stream"
    async with client.stream("GET", url, headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200
        await wait_for_value(client, LIVE, lambda v: v == 1, transport="sse")
    await wait_for_value(client, LIVE, lambda v: v == 0, transport="sse")


async def test_replayed_events_are_counted(client: ApiClient, server: RunningServer) -> None:
    await client.register()
    project = await create_project(client, "Replay metrics")
    for i in range(3):
        await create_task(client, project["id"], f"t{i}")
    before = value(await scrape(client), "taskmanager_events_replayed_total")
    async with live(server.ws_url, client) as ws:
        assert (await ws.subscribe(project["id"], after_seq=0))["type"] == "subscribed"
        assert len(await ws.events(3)) == 3
    after = value(await scrape(client), "taskmanager_events_replayed_total")
    assert after == before + 3


async def test_pool_connections_in_use_return_to_idle(client: ApiClient) -> None:
    await client.register()
    await create_project(client, "Pool")
    # Every connection checked out is given back. Polled rather than read once: the count is
    # per process, and a server's job worker (a periodic sweep) may hold one for a moment.
    await wait_for_value(client, "taskmanager_db_pool_connections_in_use", lambda v: v == 0)


@pytest.fixture
async def protected(start_server: StartServer) -> RunningServer:
    return await start_server(metrics_token=TOKEN)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token-wrong-token-00", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer"],
)
async def test_token_is_required_when_set(
    protected: RunningServer, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with httpx.AsyncClient(base_url=protected.base_url) as anonymous:
        response = await anonymous.get("/metrics", headers=headers)
    body = assert_problem(response, 401)
    assert body["code"] == "not_authenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_token_lets_the_scraper_in(protected: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=protected.base_url) as scraper:
        samples = await scrape(scraper, headers={"Authorization": f"Bearer {TOKEN}"})
    assert (LIVE, frozenset({("transport", "websocket")})) in samples


def test_short_tokens_are_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="at least 16"):
        make_settings(metrics_token="short")
    assert make_settings(metrics_token="").metrics_token is None
