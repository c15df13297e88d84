"""A client-side replica built from GET /sync pages and live events, and the server's truth.

What a sync client keeps: projects, members, labels and tasks by id, updated from snapshot
rows and events the way docs/realtime.md says. `server_state` reads the same through the
ordinary list endpoints, so the two can be compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.helpers import API, ApiClient

# Derived fields: not re-sent when they change elsewhere (docs/realtime.md), so left out.
TASK_DERIVED = ("subtask_counts",)
PROJECT_FIELDS = ("id", "name", "description", "archived")


def _task(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in TASK_DERIVED}


@dataclass
class Replica:
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tasks: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    last_seq: dict[str, int] = field(default_factory=dict)
    seen: set[tuple[str, int]] = field(default_factory=set)
    cursor: str | None = None
    # subscribe_all's `after`: the last seq applied per project since `cursor` was given.
    after: dict[str, int] = field(default_factory=dict)

    def drop(self, pid: str) -> None:
        for table in (
            self.projects,
            self.members,
            self.labels,
            self.tasks,
            self.last_seq,
            self.after,
        ):
            table.pop(pid, None)

    def apply_page(self, page: dict[str, Any]) -> None:
        for pid in page["projects"]["removed"]:
            self.drop(pid)
        for pid in page["projects"]["added"]:
            self.drop(pid)
        self.apply_snapshot(page.get("snapshot"))
        for event in page["events"]:
            pid, seq = event["project_id"], event["seq"]
            applied = self.after.get(pid)
            if applied is not None and seq <= applied:
                # Applied from the socket after its last cursor frame: /sync (which has
                # no `after`) repeats it, and the client skips it by seq.
                if seq == applied:
                    del self.after[pid]  # the new cursor covers it
                continue
            self.apply_event(event)
            self.after.pop(pid, None)
        self.cursor = page["cursor"]

    def apply_snapshot(self, snapshot: dict[str, Any] | None) -> None:
        if not snapshot:
            return
        for row in snapshot.get("projects", ()):
            self.projects[row["id"]] = {k: row[k] for k in PROJECT_FIELDS}
            self.members.setdefault(row["id"], {})
            self.labels.setdefault(row["id"], {})
            self.tasks.setdefault(row["id"], {})
        for row in snapshot.get("members", ()):
            self.members.setdefault(row["project_id"], {})[row["user"]["id"]] = row["role"]
        for row in snapshot.get("labels", ()):
            self.labels.setdefault(row["project_id"], {})[row["id"]] = row
        for row in snapshot.get("tasks", ()):
            self.tasks.setdefault(row["project_id"], {})[row["id"]] = _task(row)

    def apply_event(self, event: dict[str, Any]) -> None:
        pid, seq = event["project_id"], event["seq"]
        assert (pid, seq) not in self.seen, f"event {pid}#{seq} delivered twice"
        self.seen.add((pid, seq))
        last = self.last_seq.get(pid)
        assert last is None or seq == last + 1, f"{pid}: seq {seq} after {last}"
        self.last_seq[pid] = seq
        self.after[pid] = seq
        name, data = event["name"], event["data"]
        kind, _, action = name.partition(".")
        if kind == "project":
            if action == "deleted":
                self.drop(pid)
            else:
                self.projects[pid] = {k: data[k] for k in PROJECT_FIELDS}
        elif kind == "member":
            members = self.members.setdefault(pid, {})
            if action == "removed":
                members.pop(data["user_id"], None)
            else:
                members[data["user"]["id"]] = data["role"]
        elif kind == "label":
            labels = self.labels.setdefault(pid, {})
            if action == "deleted":
                labels.pop(data["id"], None)
            else:
                labels[data["id"]] = data
        elif kind == "task":
            tasks = self.tasks.setdefault(pid, {})
            if action == "deleted":
                tasks.pop(data["id"], None)
            else:
                tasks[data["id"]] = _task(data)

    def apply_frame(self, frame: dict[str, Any]) -> None:
        """A WebSocket message of `subscribe_all`."""
        kind = frame["type"]
        assert kind != "error", frame
        if kind == "event":
            self.apply_event(frame)
        elif kind == "project_added":
            # Not resumable from until a cursor covers its whole snapshot.
            self.drop(frame["project_id"])
            self.after.pop(frame["project_id"], None)
            self.last_seq[frame["project_id"]] = frame["seq"]
        elif kind == "snapshot":
            self.apply_snapshot(frame)
        elif kind == "project_removed":
            self.drop(frame["project_id"])
        elif kind == "cursor":
            self.cursor = frame["cursor"]
            self.after.clear()

    def state(self) -> dict[str, Any]:
        return {
            pid: {
                "project": self.projects[pid],
                "members": self.members.get(pid, {}),
                "labels": self.labels.get(pid, {}),
                "tasks": self.tasks.get(pid, {}),
            }
            for pid in self.projects
        }


async def sync_all(client: ApiClient, replica: Replica, *, limit: int = 500) -> int:
    """Call GET /sync until has_more is false; returns how many calls it took."""
    calls = 0
    while True:
        params: dict[str, Any] = {"limit": limit}
        if replica.cursor is not None:
            params["cursor"] = replica.cursor
        response = await client.get(f"{API}/sync", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        replica.apply_page(page)
        calls += 1
        if not page["has_more"]:
            return calls


async def _all_pages(client: ApiClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(url, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def server_state(client: ApiClient) -> dict[str, Any]:
    """What `client` can see, read through the ordinary endpoints."""
    state: dict[str, Any] = {}
    for project in await _all_pages(client, f"{API}/projects"):
        pid = project["id"]
        members = (await client.get(f"{API}/projects/{pid}/members")).json()
        labels = await _all_pages(client, f"{API}/projects/{pid}/labels")
        tasks = await _all_pages(client, f"{API}/projects/{pid}/tasks")
        state[pid] = {
            "project": {k: project[k] for k in PROJECT_FIELDS},
            "members": {m["user"]["id"]: m["role"] for m in members},
            "labels": {label["id"]: label for label in labels},
            "tasks": {task["id"]: _task(task) for task in tasks},
        }
    return state
