"""GET /metrics: the Prometheus text exposition, optionally behind a bearer token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from taskmanager.errors import NotAuthenticated
from taskmanager.observability.metrics import exposition
from taskmanager.state import SettingsDep

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    if settings.metrics_token is not None:
        _check_token(request, settings.metrics_token.get_secret_value())
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)


def _check_token(request: Request, expected: str) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    # compare_digest: the time taken does not tell how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.encode()
    ):
        raise NotAuthenticated(
            "GET /metrics needs 'Authorization: Bearer <METRICS_TOKEN>'.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
