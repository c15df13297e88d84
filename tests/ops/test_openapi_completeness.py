"""Every operation in the generated spec documents its problem+json errors and has examples.

Walks the spec the app generates (the committed docs/openapi.json is checked against it by
test_docs_drift.py), so a new route that forgets `responses=problems(...)` or an example on
its request or response model fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from taskmanager.app import create_app
from taskmanager.config import Settings

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_JSON = "application/problem+json"
METHODS = {"get", "post", "put", "patch", "delete"}
# Operations that answer no problem+json by contract, and why.
NO_PROBLEMS = {
    ("get", "/health/live"): "answers 200 while the process runs; it checks nothing",
    ("get", "/health"): "its 503 is the HealthRead report (docs/api.md, Operations), not a problem",
}

Spec = dict[str, Any]
Operation = tuple[str, str, dict[str, Any]]


@pytest.fixture(scope="module")
def spec() -> Spec:
    return create_app(Settings(_env_file=None)).openapi()


def operations(spec: Spec) -> Iterator[Operation]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def resolve(spec: Spec, schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def has_example(spec: Spec, media: dict[str, Any]) -> bool:
    """An example on the media type, on its schema, or on the items of an array schema."""
    if "example" in media or media.get("examples"):
        return True
    schema = resolve(spec, media.get("schema", {}))
    if schema.get("examples") or "example" in schema:
        return True
    if schema.get("type") == "array":
        return bool(resolve(spec, schema.get("items", {})).get("examples"))
    return False


def test_the_spec_has_operations(spec: Spec) -> None:
    assert len(list(operations(spec))) >= 30


def test_every_operation_documents_problem_responses(spec: Spec) -> None:
    missing = []
    for method, path, operation in operations(spec):
        if (method, path) in NO_PROBLEMS:
            continue
        problems = [
            status
            for status, response in operation["responses"].items()
            if response.get("content", {}).get(PROBLEM_JSON, {}).get("schema", {}).get("$ref")
            == PROBLEM_REF
        ]
        if not problems:
            missing.append(f"{method.upper()} {path}")
    assert not missing, f"no problem+json error response documented: {missing}"


def test_every_error_response_uses_the_problem_schema(spec: Spec) -> None:
    wrong = []
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or (method, path) in NO_PROBLEMS:
                continue
            content = response.get("content", {})
            if set(content) != {PROBLEM_JSON} or content[PROBLEM_JSON]["schema"] != {
                "$ref": PROBLEM_REF
            }:
                wrong.append(f"{method.upper()} {path} {status}")
    assert not wrong, f"error responses not documented as problem+json: {wrong}"


# Writes that authenticate nobody (so no CSRF check): a 401 or 403 cannot happen.
ANONYMOUS_WRITES = {
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
    "/api/v1/auth/verify-email",
    "/api/v1/notifications/unsubscribe",  # its signed token is the credential
}


def test_errors_that_follow_from_the_shape_of_the_route_are_documented(spec: Spec) -> None:
    """A JSON body can be malformed, too big, not JSON or invalid; an id can be unknown or
    malformed; If-Match can be stale; a POST can race its own Idempotency-Key."""
    missing = []
    for method, path, operation in operations(spec):
        if not path.startswith("/api/"):
            continue
        expected = {"503"}
        if "requestBody" in operation:
            expected |= {"400", "413", "415", "422"}
        parameters = operation.get("parameters", [])
        if any(p["in"] == "path" for p in parameters):
            expected |= {"404", "422"}
        if any(p["in"] == "header" and p["name"] == "If-Match" for p in parameters):
            expected.add("412")
        if method == "post":
            expected.add("409")
        if method != "get" and path not in ANONYMOUS_WRITES:
            expected |= {"401", "403"}  # cookie writes need the CSRF header
        absent = expected - set(operation["responses"])
        if absent:
            missing.append(f"{method.upper()} {path}: {sorted(absent)}")
    assert not missing, missing


def test_every_request_body_has_an_example(spec: Spec) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, operation in operations(spec)
        if "requestBody" in operation
        and not all(has_example(spec, m) for m in operation["requestBody"]["content"].values())
    ]
    assert not missing, f"request bodies without an example: {missing}"


def test_every_success_response_has_an_example(spec: Spec) -> None:
    missing = []
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for media_type, media in response.get("content", {}).items():
                if not has_example(spec, media):
                    missing.append(f"{method.upper()} {path} {status} {media_type}")
    assert not missing, f"success responses without an example: {missing}"


def test_the_problem_schema_has_an_example(spec: Spec) -> None:
    assert resolve(spec, {"$ref": PROBLEM_REF})["examples"]
