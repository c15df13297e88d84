"""The operator's endpoints: /health (database and Redis), /health/live, /metrics (Prometheus)."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict
from sqlalchemy import text

from taskmanager.auth.deps import parse_bearer
from taskmanager.errors import NotAuthenticated
from taskmanager.kit.responses import example_response
from taskmanager.observability.metrics import exposition
from taskmanager.state import ResourcesDep, SettingsDep

router = APIRouter(tags=["health"])

CHECK_TIMEOUT_SECONDS = 1.0


class CheckResult(BaseModel):
    status: Literal["ok", "unavailable"]
    latency_ms: float
    error: str | None = None


class HealthRead(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, CheckResult]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ok",
                    "checks": {
                        "database": {"status": "ok", "latency_ms": 0.84},
                        "redis": {"status": "ok", "latency_ms": 0.31},
                    },
                },
                {
                    "status": "unavailable",
                    "checks": {
                        "database": {"status": "ok", "latency_ms": 0.91},
                        "redis": {
                            "status": "unavailable",
                            "latency_ms": 1000.7,
                            "error": "timeout",
                        },
                    },
                },
            ]
        }
    )


async def _timed(probe: Awaitable[Any]) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        error: str | None = "timeout"
    except Exception as exc:  # any failure of the dependency is "unavailable", by design
        error = type(exc).__name__
    else:
        error = None
    latency = round((time.perf_counter() - started) * 1000, 2)
    if error is None:
        return CheckResult(status="ok", latency_ms=latency)
    return CheckResult(status="unavailable", latency_ms=latency, error=error)


@router.get(
    "/health",
    response_model=HealthRead,
    response_model_exclude_none=True,
    responses={503: {"model": HealthRead, "description": "A dependency is down"}},
)
async def health(resources: ResourcesDep, response: Response) -> HealthRead:
    async def ping_db() -> None:
        async with resources.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    database, redis = await asyncio.gather(_timed(ping_db()), _timed(resources.redis.ping()))
    report = HealthRead(
        status="ok" if database.status == redis.status == "ok" else "unavailable",
        checks={"database": database, "redis": redis},
    )
    response.status_code = 200 if report.status == "ok" else 503
    return report


@router.get("/health/live", responses={200: example_response({"status": "ok"})})
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """The Prometheus text exposition, behind `METRICS_TOKEN` when one is set."""
    if settings.metrics_token is not None:
        _check_metrics_token(request, settings.metrics_token.get_secret_value())
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def _check_metrics_token(request: Request, expected: str) -> None:
    try:
        given = parse_bearer(request.headers.get("authorization"))
    except NotAuthenticated:
        given = None  # answered below with the hint that names METRICS_TOKEN
    # compare_digest: the time taken does not tell how much of a guess was right.
    if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
        raise NotAuthenticated(
            "GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
