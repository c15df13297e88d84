"""OpenAPI descriptions of the problem+json error responses, declared per route with `problems()`.

Routes list only the statuses they can really answer, built from the groups below, e.g.
`responses=problems(*JSON_BODY, 403, 404, 409)`. tests/ops/test_openapi_completeness.py
fails when an operation documents no problem response or lacks examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from taskmanager.errors import PROBLEM_JSON

Responses = dict[int | str, dict[str, Any]]
PROBLEM_REF = "#/components/schemas/Problem"


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

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "https://taskmanager.dev/problems/validation-failed",
                    "title": "Unprocessable Content",
                    "status": 422,
                    "detail": "body.title: String should have at least 1 character",
                    "code": "validation_failed",
                    "instance": "/api/v1/projects/6f1c2d9e-8a4b-4c1e-9d3f-2b7a5e0c4d11/tasks",
                    "errors": [
                        {"loc": ["body", "title"], "msg": "String should have at least 1 character"}
                    ],
                }
            ]
        }
    )


# Default wording per status; a route may pass a more specific note.
DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON",
    401: "Not authenticated (no, expired or revoked session or token)",
    403: "Not allowed for your role, or missing/wrong X-CSRF-Token on a cookie write",
    404: "Not found, or not visible to you",
    409: "Conflict (see `code`): e.g. `project_archived` (read-only project), or "
    "`idempotency_in_flight` (the first request with this Idempotency-Key still runs)",
    410: "Gone: e.g. `resync_required` (a sync cursor older than the retained event log)",
    412: "If-Match does not match the current version; nothing changed",
    408: "The body did not arrive in full in time (REQUEST_BODY_TIMEOUT_SECONDS)",
    413: "Body too large (MAX_BODY_BYTES)",
    415: "Body is not JSON",
    422: "Validation failed (see `errors`)",
    429: "Rate limited; see Retry-After",
    503: "The database or Redis is unavailable; retry (Retry-After)",
}

# Every /api/v1 route that needs a caller: no valid credential, or a backing service down.
AUTHENTICATED = (401, 503)
# A route taking a JSON body: malformed (400), too slow to arrive (408), too large (413),
# not JSON (415), invalid (422).
JSON_BODY = (400, 408, 413, 415, 422)


def problems(*statuses: int, notes: Mapping[int, str] | None = None) -> Responses:
    """The problem+json responses for `statuses`; `notes` replace the default descriptions."""
    notes = notes or {}
    return {
        status: {
            "description": notes.get(status, DESCRIPTIONS[status]),
            "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in sorted(set(statuses))
    }


def example_response(
    example: Any, *, description: str = "Successful Response", media_type: str = "application/json"
) -> dict[str, Any]:
    """A success response documented by an example (for bodies without a pydantic model)."""
    return {"description": description, "content": {media_type: {"example": example}}}


def document_problems(app: FastAPI) -> None:
    """Add the Problem schema to the app's spec, which `problems()` refers to by $ref.

    FastAPI would document a response `model` under the route's own media type
    (application/json); problem+json needs the schema under its own, so it is referenced
    by hand and registered here.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(problem.pop("$defs", {}))
        schemas["Problem"] = problem
        spec["components"]["schemas"] = dict(sorted(schemas.items()))
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
