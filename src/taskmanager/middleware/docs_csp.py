"""The Content-Security-Policy of Swagger UI and ReDoc: their inline scripts allowed by hash."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Receive, Scope, Send

from taskmanager.middleware.asgi import HTTPLayer

# Swagger UI and ReDoc load their code from the CDN; the pages' own inline scripts are
# allowed by hash (computed from the page as sent), never by 'unsafe-inline'.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' https://cdn.jsdelivr.net{hashes}; "
    "style-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; img-src 'self' data: "
    "https://fastapi.tiangolo.com; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_INLINE_SCRIPT_RE = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(html: bytes) -> str:
    """The docs CSP allowing exactly the inline scripts of `html` (by their SHA-256)."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT_RE.findall(html)
    )
    return _DOCS_CSP.format(hashes=hashes)


def _is_docs(path: str) -> bool:
    return path in ("/docs", "/redoc") or path.startswith("/docs/")


class DocsCSPMiddleware(HTTPLayer):
    """Holds a docs page's response start until its body is complete, then sends it with
    the CSP for exactly that body. Docs pages are small and not streamed; every other
    path passes straight through."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_docs(scope["path"]):
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def send_with_csp(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                if "content-security-policy" not in MutableHeaders(scope=message):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = b"".join(chunks)
                MutableHeaders(scope=held)["content-security-policy"] = docs_csp(body)
                start, held = held, None
                await send(start)
                message = {"type": "http.response.body", "body": body, "more_body": False}
            await send(message)

        await self.app(scope, receive, send_with_csp)
