"""JSON-lines logging on the stdlib, with the request id of the current request on every line."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from typing import Any

import orjson
from asgi_correlation_id import correlation_id

from taskmanager.log_redaction import format_database_error

# The current request's X-Request-ID: set by asgi-correlation-id (middleware/stack.py).
request_id_var = correlation_id

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()

    def formatException(self, ei: Any) -> str:
        exc = ei[1]
        safe = format_database_error(exc) if isinstance(exc, BaseException) else None
        return safe if safe is not None else super().formatException(ei)


# Headers that carry credentials, as libraries print them at DEBUG (uvicorn's WebSocket
# protocol logs every handshake header, "< cookie: session=...").
_SECRET_HEADER_RE = re.compile(
    r"\b(authorization|proxy-authorization|cookie|set-cookie|x-csrf-token)(\s*[:=]\s*)[^\n]+",
    re.IGNORECASE,
)
# Loggers whose DEBUG output is one line per database call, with its parameters.
_CHATTY = ("aiosqlite",)


class RedactSecrets(logging.Filter):
    """Blanks credential headers in any record's message, whichever library logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_HEADER_RE.sub(r"\1\2[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log would duplicate ours (and without request ids).
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(logging.INFO, logging.getLevelName(level)))
