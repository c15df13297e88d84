"""The server secret (SECRET_KEY, or one made once in DATA_DIR) and HMAC tags made with it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from taskmanager.config import Settings

logger = logging.getLogger("taskmanager.signing")

KEY_FILE = "secret_key"


def load_secret_key(settings: Settings) -> bytes:
    """SECRET_KEY when set; else the key in DATA_DIR/secret_key, made on first start.

    Every process that shares DATA_DIR (e.g. `serve --workers N`) reads the same file, and
    the first one to start writes it (O_EXCL, so two cannot both win). Separate machines do
    not share it: they must be given one SECRET_KEY, or a cursor made by one is refused by
    the next (a 422 that sends the client back to the first page, nothing worse).
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    if not settings.embedded:
        logger.warning(
            "SECRET_KEY is unset: using a key kept in DATA_DIR; instances on other machines "
            "must share one SECRET_KEY or they refuse each other's pagination cursors"
        )
    return _key_file(Path(settings.data_dir) / KEY_FILE)


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        if len(key) >= 32:
            return key
        raise RuntimeError(f"{path} holds no usable key; delete it to make a new one") from None
    key = secrets.token_urlsafe(48).encode()
    with os.fdopen(fd, "wb") as out:
        out.write(key + b"\n")
    return key


def tag(key: bytes, purpose: bytes, payload: bytes, *, size: int = 16) -> str:
    """base64url HMAC-SHA256 of `payload`, bound to `purpose` (one key, many uses)."""
    digest = hmac.new(key, purpose + b"\0" + payload, hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def check(key: bytes, purpose: bytes, payload: bytes, given: str) -> bool:
    """Whether `given` is `payload`'s tag, compared in constant time."""
    return hmac.compare_digest(
        tag(key, purpose, payload).encode(), given.encode("ascii", "replace")
    )
