"""Security headers on every HTTP response: no sniffing, no referrer, no framing, a strict
Content-Security-Policy unless the response brings its own, and no caching of the API."""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from taskmanager.middleware.asgi import HTTPLayer

API_CSP = "default-src 'none'; frame-ancestors 'none'"

_EVERYWHERE: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", API_CSP.encode()),
)
# API answers are per user and per moment: no shared or browser cache may keep them.
_API = (*_EVERYWHERE, (b"cache-control", b"no-store"))


class SecurityHeadersMiddleware(HTTPLayer):
    """Adds each header of the set that the response does not set itself (the board and
    the docs pages bring their own Content-Security-Policy)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        defaults = _API if scope["path"].startswith("/api/") else _EVERYWHERE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy: the list may be the Response object's own.
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in defaults if pair[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
