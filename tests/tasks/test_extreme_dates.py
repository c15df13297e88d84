"""Dates at the edges of the calendar: 422 at the field, stored as given, connection kept."""

from __future__ import annotations

import pytest

from tests.helpers import API, Team, assert_problem, create_task
from tests.wire import ConnectCounter, assert_connection_kept

# Valid RFC 3339, but before year 1 or after year 9999 once converted to UTC.
OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]
# The extremes that do fit.
EDGES = {
    "0001-01-01T00:00:00Z": "0001-01-01T00:00:00Z",
    "0001-01-01T13:59:59-14:00": "0001-01-02T03:59:59Z",
    "9999-12-31T23:59:59Z": "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59+14:00": "9999-12-31T09:59:59Z",
}


@pytest.mark.parametrize("value", OUT_OF_RANGE)
async def test_out_of_range_due_at_is_422_and_keeps_the_connection(team: Team, value: str) -> None:
    client, counter = team["member"], ConnectCounter()
    task = await create_task(client, team.project_id, "kept")
    url = f"{API}/projects/{team.project_id}/tasks"
    created = await client.post(
        url, json={"title": "x", "due_at": value}, extensions=counter.extensions
    )
    assert_problem(created, 422, field="due_at")
    await assert_connection_kept(client, counter)
    patched = await client.patch(
        f"{API}/tasks/{task['id']}", json={"due_at": value}, extensions=counter.extensions
    )
    assert_problem(patched, 422, field="due_at")
    await assert_connection_kept(client, counter)
    for name in ("due_before", "due_after"):
        listed = await client.get(url, params={name: value}, extensions=counter.extensions)
        assert_problem(listed, 422, field=name)
        await assert_connection_kept(client, counter)
    after = (await client.get(f"{API}/tasks/{task['id']}")).json()
    assert after["due_at"] is None and after["version"] == task["version"]
    assert [t["title"] for t in (await client.get(url)).json()["items"]] == ["kept"]


@pytest.mark.parametrize(("value", "stored"), EDGES.items())
async def test_edge_dates_are_stored_and_filtered(team: Team, value: str, stored: str) -> None:
    client = team["member"]
    task = await create_task(client, team.project_id, "edge", due_at=value)
    assert task["due_at"] == stored
    url = f"{API}/projects/{team.project_id}/tasks"
    found = (await client.get(url, params={"due_after": value, "sort": "-due_at"})).json()
    assert [t["id"] for t in found["items"]] == [task["id"]]
    assert (await client.get(url, params={"due_before": value})).json()["items"] == []
