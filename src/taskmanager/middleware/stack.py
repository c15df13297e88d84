"""The middleware stack of the app, outermost first, and why each layer sits where it does."""

from __future__ import annotations

import re
import secrets

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from taskmanager.config import Settings
from taskmanager.middleware.access_log import AccessLogMiddleware
from taskmanager.middleware.asgi import StreamedBody
from taskmanager.middleware.body_limit import BodyLimitMiddleware
from taskmanager.middleware.docs_csp import DocsCSPMiddleware
from taskmanager.middleware.idempotency import Authenticate, IdempotencyMiddleware
from taskmanager.middleware.internal_error import InternalErrorMiddleware
from taskmanager.middleware.metrics import MetricsMiddleware
from taskmanager.middleware.security_headers import SecurityHeadersMiddleware
from taskmanager.middleware.websocket_frames import WebSocketFramesMiddleware

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def valid_request_id(value: str) -> bool:
    """A client's X-Request-ID is kept only if it is safe to log and echo as it is."""
    return _REQUEST_ID_RE.fullmatch(value) is not None


def new_request_id() -> str:
    """128 random bits as 32 hex digits, like a uuid4's hex but without building a UUID."""
    return secrets.token_hex(16)


def install_middleware(
    app: FastAPI,
    settings: Settings,
    *,
    authenticate: Authenticate,
    form_paths: frozenset[str] = frozenset(),
    streamed: tuple[StreamedBody, ...] = (),
) -> None:
    """Each request passes the layers in this order (outside them all is Starlette's
    ServerErrorMiddleware; inside, FastAPI's exception handlers and the routes):

    1. WebSocket frames: the server's send for data frames (websocket_frames.py).
    2. Request id (asgi-correlation-id): keeps or makes X-Request-ID, echoes it, and sets
       the context variable that log lines and written events read (logs.request_id_var).
    3. Access log and 4. metrics: outside everything that may answer, so they see every
       response, the 413s, 429s and 500s included.
    5. Security headers, 6. the docs CSP (inside, so its page CSP wins).
    7. Internal error: a 500 that passes through all of the above.
    8. CORS, if origins are allowed: preflights are answered here with every header above.
    9. Body limit (it also refuses non-JSON bodies, except form posts to `form_paths`),
       then 10. idempotency (it reads the body the limit has already bounded;
       a replay authenticates its caller like the route would: `authenticate`, which
       app.py passes in, so the layers import no feature). Both pass the body of a
       `streamed` route (an upload, also named by app.py) through instead of reading it.
    Outside them all, when FORWARDED_ALLOW_IPS names proxies: uvicorn's proxy-headers layer,
    so every layer sees the client address a trusted proxy reports.
    """
    # add_middleware puts each layer outside the ones added before it: innermost first.
    app.add_middleware(
        IdempotencyMiddleware,
        session_cookie_name=settings.session_cookie_name,
        authenticate=authenticate,
        streamed=streamed,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_seconds=settings.request_body_timeout_seconds,
        form_paths=form_paths,
        streamed=streamed,
    )
    if settings.allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=[
                "Content-Type",
                "X-CSRF-Token",
                "Idempotency-Key",
                "If-Match",
                REQUEST_ID_HEADER,
                "Authorization",
            ],
            expose_headers=["ETag", REQUEST_ID_HEADER, "Retry-After"],
        )
    app.add_middleware(InternalErrorMiddleware)
    app.add_middleware(DocsCSPMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        validator=valid_request_id,
        generator=new_request_id,
        update_request_header=False,  # nothing inside reads the header; the variable is set
    )
    app.add_middleware(WebSocketFramesMiddleware)
    if settings.forwarded_allow_ips:
        # Outermost, so logs, throttles and sessions all see the client a trusted proxy names;
        # from anyone else X-Forwarded-For is ignored (it would defeat the login throttle).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
