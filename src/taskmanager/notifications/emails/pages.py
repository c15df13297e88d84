"""The small HTML pages an unsubscribe link shows in a browser (mail clients get no page)."""

from __future__ import annotations

import html

from fastapi.responses import HTMLResponse

from taskmanager.notifications.kinds import NotificationKind


def wants_html(accept: str | None) -> bool:
    """A browser following the link (Accept: text/html...), not an API client or a scanner
    that asks for JSON."""
    return accept is not None and "text/html" in accept


def _what(kind: NotificationKind | None) -> str:
    if kind is None:
        return "all notification e-mails (and the daily summary)"
    return f"e-mails about “{kind.value.replace('_', ' ')}” notifications"


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width">'
        f"<title>{html.escape(title)}</title></head><body>{body}</body></html>"
    )


def confirm_page(kind: NotificationKind | None, token: str) -> HTMLResponse:
    """Nothing changes until the button is pressed: mail scanners open links, not forms."""
    action = html.escape(f"?token={token}", quote=True)
    return _page(
        "Unsubscribe",
        f"<h1>Unsubscribe</h1><p>Stop {html.escape(_what(kind))}?</p>"
        f'<form method=post action="{action}">'
        '<input type=hidden name="List-Unsubscribe" value="One-Click">'
        "<button type=submit>Unsubscribe</button></form>"
        "<p>You can turn mails back on under Profile on the board.</p>",
    )


def done_page(kind: NotificationKind | None) -> HTMLResponse:
    return _page(
        "Unsubscribed",
        f"<h1>Unsubscribed</h1><p>You will get no more {html.escape(_what(kind))}.</p>"
        "<p>You can turn mails back on under Profile on the board.</p>",
    )
