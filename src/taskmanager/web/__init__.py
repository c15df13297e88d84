"""The browser board: static files (HTML, ES modules, CSS) served at `/` with a strict CSP."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"

# No inline script or style anywhere: the page only loads its own files and talks to its
# own origin (HTTP and WebSocket).
WEB_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

# Paths that belong to the API: never answered by the static files, so unknown API paths
# keep their problem+json 404 and wrong methods their 405.
_NOT_WEB = ("/api/", "/health", "/metrics", "/docs", "/redoc", "/openapi.json")


# Pages the mails link to (`/reset-password#token=...` and so on): the board itself, which
# reads the token from the fragment (never sent to the server, so never in a log).
LINK_PAGES = frozenset({"reset-password", "verify-email", "invitations"})


class _WebFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        if path in LINK_PAGES:
            path = "index.html"
        response = await super().get_response(path, scope)
        response.headers["content-security-policy"] = WEB_CSP
        # Revalidate on every load (ETag / Last-Modified make that cheap): a deploy is
        # picked up at once and the HTML never runs against stale modules.
        response.headers["cache-control"] = "no-cache"
        return response


class _WebMount(Mount):
    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(_NOT_WEB):
            return Match.NONE, {}
        match, child_scope = super().matches(scope)
        if match is not Match.NONE:
            child_scope["route"] = self  # for the metrics' and access log's route label
        return match, child_scope


def mount_web(app: FastAPI) -> None:
    """Serve the board at `/`; call after every router so API routes are matched first."""
    app.router.routes.append(_WebMount("/", app=_WebFiles(directory=STATIC_DIR, html=True)))
