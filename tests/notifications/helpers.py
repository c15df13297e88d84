"""Reading a user's notifications in tests."""

from __future__ import annotations

from typing import Any

from tests.helpers import API, ApiClient


async def unread(client: ApiClient, **params: Any) -> list[dict[str, Any]]:
    """The client's unread notifications, newest first (one page of up to 100)."""
    response = await client.get(
        f"{API}/notifications", params={"unread": "true", "limit": 100, **params}
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def unread_count(client: ApiClient) -> int:
    response = await client.get(f"{API}/notifications/unread-count")
    assert response.status_code == 200, response.text
    count: int = response.json()["unread"]
    return count


async def kinds(client: ApiClient, task_id: str | None = None) -> list[str]:
    """Kinds of the client's unread notifications (of one task if given), newest first."""
    return [n["kind"] for n in await unread(client) if task_id is None or n["task_id"] == task_id]
