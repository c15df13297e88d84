"""OpenAPI descriptions of the problem+json error responses every API route may return."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ProblemFieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable error code")
    instance: str | None = None
    errors: list[ProblemFieldError] | None = None


def _problem(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {}},
    }


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _problem("Malformed JSON"),
    401: _problem("Not authenticated"),
    403: _problem("Not allowed, or missing/wrong CSRF token"),
    404: _problem("Not found, or not visible to you"),
    413: _problem("Body too large"),
    415: _problem("Body is not JSON"),
    422: _problem("Validation failed"),
    429: _problem("Rate limited; see Retry-After"),
    503: _problem("A backing service is unavailable"),
}
