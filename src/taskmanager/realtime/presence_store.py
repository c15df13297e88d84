"""Presence in Redis: per-project hashes of entries, one set of deadlines, change notices.

- `presence:{project_id}`, a hash: one field per announcing WebSocket (a random id), its
  value what that socket said (user, display name, task, state). The key itself expires
  two TTLs after anyone's last heartbeat, so a project nobody watches leaves nothing.
- `presence:deadlines`, one sorted set for all projects: `{project_id}/{socket id}` scored
  by when that entry lapses. Heartbeats push the score forward; `take_lapsed` removes what
  has lapsed, so the entries of a silent socket or of a dead instance go.
- channel `presence:{project_id}`: a notice after every change, carrying the sender's
  instance id (the sender has re-read already).
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import orjson
from redis.asyncio import Redis

PRESENCE_PATTERN = "presence:*"
CHANNEL_PREFIX = "presence:"
DEADLINES_KEY = "presence:deadlines"


def project_key(project_id: uuid.UUID | str) -> str:
    """The project's hash, and the channel of its notices."""
    return f"{CHANNEL_PREFIX}{project_id}"


def entry_value(user_id: uuid.UUID, display_name: str, task_id: str | None, state: str) -> bytes:
    return orjson.dumps(
        {"u": str(user_id), "n": display_name, "t": task_id, "s": state, "a": time.time()}
    )


def _rank(value: dict[str, Any]) -> tuple[int, float]:
    """Which of a user's entries shows: editing over viewing a task over just viewing;
    then the latest said."""
    state_rank = 2 if value.get("s") == "editing" else 0
    return state_rank + (1 if value.get("t") else 0), float(value.get("a") or 0)


def users_of(raw: dict[Any, Any]) -> list[dict[str, Any]]:
    """A project's hash -> one entry per user (a user's tabs merged), in a stable order."""
    best: dict[str, dict[str, Any]] = {}
    for data in raw.values():
        try:
            value = orjson.loads(data)
            user_id = str(value["u"])
        except (ValueError, KeyError, TypeError):
            continue
        current = best.get(user_id)
        if current is None or _rank(value) > _rank(current):
            best[user_id] = value
    users = [
        {
            "user_id": uid,
            "display_name": v.get("n") or "",
            "task_id": v.get("t"),
            "state": v.get("s") or "viewing",
        }
        for uid, v in best.items()
    ]
    users.sort(key=lambda u: (str(u["display_name"]).casefold(), str(u["user_id"])))
    return users


async def store(
    redis: Redis, socket_key: str, entries: list[tuple[uuid.UUID, bytes]], ttl: float
) -> list[uuid.UUID]:
    """Write (or refresh) one socket's entries and push their deadlines `ttl` ahead.

    Returns the projects where the entry was missing: taken out as lapsed while its
    socket was silent, so its coming back must be announced.
    """
    deadline = time.time() + ttl
    key_ttl = math.ceil(ttl * 2) + 1
    async with redis.pipeline(transaction=True) as pipe:
        for project_id, value in entries:
            pipe.hset(project_key(project_id), socket_key, value)
            pipe.zadd(DEADLINES_KEY, {f"{project_id}/{socket_key}": deadline})
            pipe.expire(project_key(project_id), key_ttl)
        results = await pipe.execute()
    return [
        project_id
        for i, (project_id, _) in enumerate(entries)
        if results[3 * i] or results[3 * i + 1]
    ]


async def remove(redis: Redis, project_id: uuid.UUID, socket_key: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hdel(project_key(project_id), socket_key)
        pipe.zrem(DEADLINES_KEY, f"{project_id}/{socket_key}")
        await pipe.execute()


async def publish(redis: Redis, project_ids: list[uuid.UUID], sender: bytes) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for project_id in project_ids:
            pipe.publish(project_key(project_id), sender)
        await pipe.execute()


async def take_lapsed(redis: Redis) -> list[uuid.UUID]:
    """Remove every lapsed entry; the projects they were in.

    Read and removed in one MULTI: of several instances sweeping at once, each lapsed entry
    is taken (and so announced) by exactly one.
    """
    now = time.time()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrangebyscore(DEADLINES_KEY, "-inf", now)
        pipe.zremrangebyscore(DEADLINES_KEY, "-inf", now)
        lapsed, _ = await pipe.execute()
    if not lapsed:
        return []
    by_project: dict[uuid.UUID, list[str]] = {}
    for member in lapsed:
        raw_id, _, socket_key = member.decode().partition("/")
        project_id = parse_uuid(raw_id)
        if project_id is not None:
            by_project.setdefault(project_id, []).append(socket_key)
    async with redis.pipeline(transaction=False) as pipe:
        for project_id, keys in by_project.items():
            pipe.hdel(project_key(project_id), *keys)
        await pipe.execute()
    return list(by_project)


def parse_uuid(value: object) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
