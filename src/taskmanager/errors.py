"""Domain errors and the one place that turns them (and every other failure) into problem+json."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

logger = logging.getLogger("taskmanager.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """Base of every error a service may raise; carries its HTTP meaning, nothing else."""

    status: int = 500
    title: str = "Internal Server Error"
    code: str = "internal_error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}


class BadRequest(AppError):
    status, title, code = 400, "Bad Request", "bad_request"


class NotAuthenticated(AppError):
    status, title, code = 401, "Not Authenticated", "not_authenticated"


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"


class Forbidden(AppError):
    status, title, code = 403, "Forbidden", "forbidden"


class CsrfFailed(Forbidden):
    code = "csrf_failed"


class NotFound(AppError):
    status, title, code = 404, "Not Found", "not_found"


class MethodNotAllowed(AppError):
    status, title, code = 405, "Method Not Allowed", "method_not_allowed"


class Conflict(AppError):
    status, title, code = 409, "Conflict", "conflict"


class Gone(AppError):
    status, title, code = 410, "Gone", "gone"


class PreconditionFailed(AppError):
    status, title, code = 412, "Precondition Failed", "precondition_failed"


class RequestTimeout(AppError):
    status, title, code = 408, "Request Timeout", "request_timeout"


class PayloadTooLarge(AppError):
    status, title, code = 413, "Payload Too Large", "payload_too_large"


class UnsupportedMediaType(AppError):
    status, title, code = 415, "Unsupported Media Type", "unsupported_media_type"


class ValidationFailed(AppError):
    status, title, code = 422, "Unprocessable Content", "validation_failed"

    @classmethod
    def field(cls, loc: Sequence[str | int], msg: str) -> ValidationFailed:
        """One bad field, reported the same way pydantic reports its own."""
        return cls(f"{'.'.join(map(str, loc))}: {msg}", errors=[{"loc": list(loc), "msg": msg}])


class RateLimited(AppError):
    status, title, code = 429, "Too Many Requests", "rate_limited"

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class ServiceUnavailable(AppError):
    status, title, code = 503, "Service Unavailable", "unavailable"


_STATUS_ERRORS: dict[int, type[AppError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        NotAuthenticated,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        Gone,
        PreconditionFailed,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        ServiceUnavailable,
    )
}


def problem_body(
    status: int,
    title: str,
    detail: str,
    *,
    code: str,
    errors: Sequence[dict[str, Any]] | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"https://taskmanager.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = list(errors)
    return body


def problem_response(error: AppError, *, instance: str | None = None) -> Response:
    body = problem_body(
        error.status,
        error.title,
        error.detail,
        code=error.code,
        errors=error.errors,
        instance=instance,
    )
    return Response(
        orjson.dumps(body), status_code=error.status, media_type=PROBLEM_JSON, headers=error.headers
    )


def _clean_loc(loc: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


def from_validation_error(exc: RequestValidationError) -> AppError:
    """Pydantic's report, with malformed JSON told apart as a 400."""
    raw = list(exc.errors())
    for err in raw:
        if err.get("type") == "json_invalid":
            return BadRequest(f"Malformed JSON: {err.get('ctx', {}).get('error', 'cannot parse')}")
    errors = [{"loc": _clean_loc(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in raw]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    return ValidationFailed(summary or "Invalid request", errors=errors)


async def _app_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return problem_response(exc, instance=request.url.path)


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return problem_response(from_validation_error(exc), instance=request.url.path)


async def _http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error_cls = _STATUS_ERRORS.get(exc.status_code, AppError)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route for {request.url.path}"
    error = error_cls(detail, headers=dict(exc.headers or {}))
    if error_cls is AppError:
        error.status = exc.status_code
    return problem_response(error, instance=request.url.path)


async def _unhandled_handler(request: Request, exc: Exception) -> Response:
    # Logged in full here; the client sees nothing of the internals.
    logger.exception("unhandled error", extra={"path": request.url.path})
    return problem_response(AppError("An unexpected error occurred."))


async def _dependency_down_handler(request: Request, exc: Exception) -> Response:
    # A lost database or Redis connection is the operator's problem, not the client's:
    # answer 503 so clients retry, and never leak driver messages.
    from redis.exceptions import RedisError

    from taskmanager.observability.metrics import REDIS_ERRORS

    if isinstance(exc, RedisError):
        REDIS_ERRORS.labels("request").inc()
    logger.warning(
        "dependency unavailable: %s", type(exc).__name__, extra={"path": request.url.path}
    )
    return problem_response(
        ServiceUnavailable(
            "A backing service is unavailable; retry shortly.", headers={"Retry-After": "1"}
        ),
        instance=request.url.path,
    )


async def _database_error_handler(request: Request, exc: Exception) -> Response:
    """A driver error: 503 when the connection was lost (e.g. pg_terminate_backend, a
    failover), else a bug (500).

    asyncpg reports a connection killed mid-statement ("terminating connection due to
    administrator command") as a plain DBAPIError, not an OperationalError; SQLAlchemy
    marks it `connection_invalidated` and drops the connection from the pool.
    """
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    assert isinstance(exc, DBAPIError)
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return await _dependency_down_handler(request, exc)
    return await _unhandled_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    app.add_exception_handler(DBAPIError, _database_error_handler)
    # PoolTimeoutError: every pooled connection stayed busy for pool_timeout seconds.
    for exc_type in (PoolTimeoutError, RedisConnectionError, RedisTimeoutError):
        app.add_exception_handler(exc_type, _dependency_down_handler)
    app.add_exception_handler(AppError, _app_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_exception_handler)
    app.add_exception_handler(Exception, _unhandled_handler)
