"""The raw floor: the same work as the service's hot reads, with no framework comfort.

Starlette (routing only) + asyncpg + redis-py + orjson, run by uvicorn with uvloop and
httptools, like `taskmanager serve`. It serves the two read scenarios of the benchmark:

- GET /api/v1/tasks/{id}: the session cookie is resolved with one Redis HGETALL of
  `sess:{sha256(cookie)}` (the hash that src/taskmanager/auth/sessions.py stores), its
  absolute deadline checked, then one primary-key SELECT of the task joined to the caller's
  membership row (a non-member gets 404, like the service) with its labels aggregated.
- GET /api/v1/projects/{id}/tasks?status=&limit=: the same session check, then one keyset
  page (ORDER BY position, id) with the membership check and labels in the same query, and
  the same opaque checksummed cursor as src/taskmanager/kit/pagination.py.

Run: python bench/floor.py --port 8100 (DATABASE_URL / REDIS_URL from the environment).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

PRIORITIES = ("none", "low", "medium", "high", "urgent")
STATUSES = frozenset({"todo", "in_progress", "done"})
SESSION_COOKIE = "session"

_COLUMNS = """
    t.id, t.project_id, t.title, t.description, t.status, t.priority_rank, t.position,
    t.due_at, t.assignee_id, t.created_by, t.created_at, t.updated_at, t.version,
    COALESCE((
        SELECT json_agg(json_build_object('id', l.id, 'name', l.name, 'color', l.color)
                        ORDER BY l.name)
        FROM task_labels tl JOIN labels l ON l.id = tl.label_id
        WHERE tl.task_id = t.id
    ), '[]') AS labels
"""

GET_TASK = f"""
SELECT {_COLUMNS}
FROM tasks t
JOIN project_members m ON m.project_id = t.project_id AND m.user_id = $2
WHERE t.id = $1
"""

LIST_TASKS = f"""
SELECT {_COLUMNS}
FROM tasks t
WHERE t.project_id = $1 AND t.status = $2
  AND EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = $1 AND m.user_id = $3)
ORDER BY t.position, t.id
LIMIT $4
"""

IS_MEMBER = "SELECT 1 FROM project_members WHERE project_id = $1 AND user_id = $2"


class State:
    pool: asyncpg.Pool
    redis: aioredis.Redis


state = State()


def _problem(status: int, title: str) -> Response:
    body = orjson.dumps({"type": "about:blank", "title": title, "status": status, "detail": title})
    return Response(body, status_code=status, media_type="application/problem+json")


def _json(body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_UTC_Z),
        media_type="application/json",
        headers=headers,
    )


async def _user_id(request: Request) -> uuid.UUID | None:
    """The session's user, from one HGETALL, or None (401)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 128:
        return None
    key = "sess:" + hashlib.sha256(cookie.encode()).hexdigest()
    raw: dict[Any, Any] = await state.redis.hgetall(key)
    if not raw:
        return None
    try:
        if time.time() >= float(raw[b"abs"]):
            return None
        return uuid.UUID(raw[b"uid"].decode())
    except (KeyError, ValueError):
        return None


def _task(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "project_id": str(row["project_id"]),
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "priority": PRIORITIES[row["priority_rank"]],
        "position": row["position"],
        "due_at": row["due_at"],
        "assignee_id": None if row["assignee_id"] is None else str(row["assignee_id"]),
        "labels": orjson.Fragment(row["labels"]),
        "created_by": None if row["created_by"] is None else str(row["created_by"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


def _checksum(payload: bytes) -> str:
    digest = hashlib.sha256(b"taskmanager-cursor-v1:" + payload).digest()[:9]
    return base64.urlsafe_b64encode(digest).decode()


def _cursor(scope: str, position: str, row_id: uuid.UUID) -> str:
    payload = orjson.dumps([scope, position, str(row_id)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + _checksum(payload)


async def get_task(request: Request) -> Response:
    user_id = await _user_id(request)
    if user_id is None:
        return _problem(401, "Not authenticated")
    try:
        task_id = uuid.UUID(request.path_params["task_id"])
    except ValueError:
        return _problem(404, "Task not found.")
    async with state.pool.acquire() as conn:
        row = await conn.fetchrow(GET_TASK, task_id, user_id)
    if row is None:
        return _problem(404, "Task not found.")
    return _json(_task(row), {"ETag": f'"{row["version"]}"'})


async def list_tasks(request: Request) -> Response:
    user_id = await _user_id(request)
    if user_id is None:
        return _problem(401, "Not authenticated")
    try:
        project_id = uuid.UUID(request.path_params["project_id"])
    except ValueError:
        return _problem(404, "Project not found.")
    status = request.query_params.get("status", "todo")
    try:
        limit = int(request.query_params.get("limit", "50"))
    except ValueError:
        limit = 0
    if status not in STATUSES or not 1 <= limit <= 100:
        return _problem(422, "Invalid query")
    async with state.pool.acquire() as conn:
        rows = await conn.fetch(LIST_TASKS, project_id, status, user_id, limit + 1)
        if not rows and await conn.fetchval(IS_MEMBER, project_id, user_id) is None:
            return _problem(404, "Project not found.")
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _cursor(f"tasks:{project_id}:position", last["position"], last["id"])
    return _json({"items": [_task(r) for r in rows], "next_cursor": next_cursor})


async def health(_request: Request) -> Response:
    return _json({"status": "ok"})


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    pool_size = int(os.environ.get("DB_POOL_SIZE", "10"))
    state.pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
    state.redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        yield
    finally:
        await state.redis.aclose()
        await state.pool.close()


app = Starlette(
    routes=[
        Route("/api/v1/tasks/{task_id}", get_task),
        Route("/api/v1/projects/{project_id}/tasks", list_tasks),
        Route("/health", health),
    ],
    lifespan=lifespan,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "floor:app",
        app_dir=os.path.dirname(os.path.abspath(__file__)),
        host=args.host,
        port=args.port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
