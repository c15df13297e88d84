"""Sync scenarios: a bootstrap of many tasks over many projects, and catching up after a gap.

One user owns `sync_projects` projects holding `sync_tasks` tasks between them. Measured:

- bootstrap: GET /sync without a cursor, then page after page (limit 1,000) until
  `has_more` is false: wall time, pages, bytes of the bodies (uncompressed; a proxy's gzip
  would shrink them ~8x);
- catch-up: `sync_missed` task updates spread over the projects while the client is away,
  then (a) GET /sync from the bootstrap cursor until `has_more` is false and (b) WebSocket
  `subscribe_all` from the same cursor until every missed event has arrived: wall time,
  bytes, calls or frames.

Each is repeated `sync_rounds` times; medians are reported (min-max alongside).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import statistics
import time
import uuid
from typing import Any

import httpx
import websockets
from common import API, Config, Server, log

SYNC_LIMIT = 1000


async def _user(http: httpx.AsyncClient) -> str:
    email = f"bench-sync-{secrets.token_hex(4)}@example.com"
    r = await http.post(
        f"{API}/auth/register",
        json={"email": email, "password": "bench-password-1", "display_name": "Sync"},
    )
    r.raise_for_status()
    headers = {"X-CSRF-Token": r.json()["csrf_token"]}
    r = await http.post(f"{API}/auth/tokens", json={"name": "bench sync"}, headers=headers)
    r.raise_for_status()
    http.cookies.clear()
    token: str = r.json()["token"]
    return token


async def _seed(http: httpx.AsyncClient, cfg: Config) -> list[tuple[str, list[str]]]:
    """The projects and their tasks, each project one POST /projects/import (one
    transaction, bulk inserts): 10,000 single POSTs would take minutes on a busy machine."""
    projects: list[tuple[str, list[str]]] = []
    statuses = ("todo", "in_progress", "done")
    per_project = cfg.sync_tasks // cfg.sync_projects
    for p in range(cfg.sync_projects):
        labels = [{"id": str(uuid.uuid4()), "name": n, "color": "#a2eeef"} for n in ("a", "b")]
        tasks = [
            {
                "id": str(uuid.uuid4()),
                "title": f"Sync task {p}.{i}",
                "description": "Seeded. " * (i % 5),
                "status": statuses[i % 3],
                "label_ids": [labels[0]["id"]] if i % 2 else [],
            }
            for i in range(per_project)
        ]
        body = {
            "format": "taskmanager.project/1",
            "project": {"name": f"Sync {p}"},
            "labels": labels,
            "tasks": tasks,
        }
        r = await http.post(f"{API}/projects/import", json=body)
        r.raise_for_status()
        pid = r.json()["id"]
        r = await http.get(f"{API}/projects/{pid}/tasks", params={"limit": 100})
        r.raise_for_status()
        # The tasks to update later: the first page is enough to spread the writes.
        projects.append((pid, [t["id"] for t in r.json()["items"]]))
    return projects


async def _sync_until_done(http: httpx.AsyncClient, cursor: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    pages = rows = events = size = 0
    while True:
        params: dict[str, Any] = {"limit": SYNC_LIMIT}
        if cursor is not None:
            params["cursor"] = cursor
        r = await http.get(f"{API}/sync", params=params)
        r.raise_for_status()
        size += len(r.content)
        body = r.json()
        pages += 1
        if body["snapshot"]:
            rows += sum(len(v) for v in body["snapshot"].values())
        events += len(body["events"])
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    return {
        "ms": (time.perf_counter() - started) * 1000,
        "pages": pages,
        "rows": rows,
        "events": events,
        "bytes": size,
        "cursor": cursor,
    }


async def _ws_catch_up(service: Server, token: str, cursor: str, expected: int) -> dict[str, Any]:
    url = service.base.replace("http://", "ws://") + f"{API}/ws"
    headers = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "subscribe_all", "cursor": cursor}))
        got = frames = size = 0
        while got < expected:
            raw = await asyncio.wait_for(ws.recv(), 60)
            frames += 1
            size += len(raw)
            if json.loads(raw)["type"] == "event":
                got += 1
        elapsed = (time.perf_counter() - started) * 1000
    return {"ms": elapsed, "frames": frames, "events": got, "bytes": size}


async def _miss(
    http: httpx.AsyncClient, projects: list[tuple[str, list[str]]], count: int, round_: int
) -> None:
    """`count` task updates spread over the projects (what the away client misses)."""
    gate = asyncio.Semaphore(8)

    async def touch(i: int) -> None:
        ids = projects[i % len(projects)][1]
        task_id = ids[(i // len(projects)) % len(ids)]
        async with gate:
            r = await http.patch(f"{API}/tasks/{task_id}", json={"title": f"Missed {round_}.{i}"})
        r.raise_for_status()

    await asyncio.gather(*(touch(i) for i in range(count)))


def _median(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
    values = [float(r[key]) for r in runs]
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


async def sync_scenarios(cfg: Config, service: Server) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=service.base, timeout=120) as http:
        token = await _user(http)
        http.headers["Authorization"] = f"Bearer {token}"
        log(f"sync: seeding {cfg.sync_tasks} tasks over {cfg.sync_projects} projects")
        projects = await _seed(http, cfg)
        bootstraps = [await _sync_until_done(http, None) for _ in range(cfg.sync_rounds)]
        http_catch_ups: list[dict[str, Any]] = []
        ws_catch_ups: list[dict[str, Any]] = []
        for round_ in range(cfg.sync_rounds):
            start = (await _sync_until_done(http, None))["cursor"]
            await _miss(http, projects, cfg.sync_missed, round_)
            http_catch_ups.append(await _sync_until_done(http, start))
            ws_catch_ups.append(await _ws_catch_up(service, token, start, cfg.sync_missed))
    for run in http_catch_ups:
        assert run["events"] == cfg.sync_missed, run
    boot = bootstraps[0]
    out: dict[str, Any] = {
        "projects": cfg.sync_projects,
        "tasks": cfg.sync_tasks,
        "missed_events": cfg.sync_missed,
        "rounds": cfg.sync_rounds,
        "bootstrap": {
            "pages": boot["pages"],
            "rows": boot["rows"],
            "bytes": boot["bytes"],
            "ms": _median(bootstraps, "ms"),
            "cursor_chars": len(boot["cursor"]),
        },
        "catch_up_http": {
            "calls": http_catch_ups[0]["pages"],
            "bytes": http_catch_ups[0]["bytes"],
            "ms": _median(http_catch_ups, "ms"),
        },
        "catch_up_ws": {
            "frames": ws_catch_ups[0]["frames"],
            "bytes": ws_catch_ups[0]["bytes"],
            "ms": _median(ws_catch_ups, "ms"),
        },
    }
    log(
        f"sync: bootstrap {boot['rows']} rows in {out['bootstrap']['ms']['median']:.0f} ms "
        f"({boot['bytes'] / 1e6:.1f} MB); catch-up of {cfg.sync_missed}: "
        f"{out['catch_up_http']['ms']['median']:.0f} ms over HTTP, "
        f"{out['catch_up_ws']['ms']['median']:.0f} ms over the WebSocket"
    )
    return out


def sync_markdown(sync: dict[str, Any]) -> list[str]:
    """The results.md section."""
    if not sync:
        return []
    if "error" in sync:
        return ["", "## Sync", "", f"Failed: {sync['error']}"]
    b, h, w = sync["bootstrap"], sync["catch_up_http"], sync["catch_up_ws"]

    def ms(entry: dict[str, float]) -> str:
        return f"{entry['median']:.0f} ({entry['min']:.0f}-{entry['max']:.0f})"

    return [
        "",
        f"## Sync ({sync['tasks']:,} tasks over {sync['projects']} projects)",
        "",
        f"Medians of {sync['rounds']} runs (min-max); bytes are uncompressed JSON bodies.",
        "",
        "| scenario | ms | requests / frames | bytes |",
        "|---|---|---|---|",
        f"| bootstrap, GET /sync pages of {SYNC_LIMIT} rows ({b['rows']:,} rows; cursor "
        f"{b['cursor_chars']} chars) | {ms(b['ms'])} | {b['pages']} | {b['bytes']:,} |",
        f"| catch-up after {sync['missed_events']:,} missed events, GET /sync | {ms(h['ms'])} "
        f"| {h['calls']} | {h['bytes']:,} |",
        f"| the same over WebSocket subscribe_all | {ms(w['ms'])} | {w['frames']} "
        f"| {w['bytes']:,} |",
    ]
