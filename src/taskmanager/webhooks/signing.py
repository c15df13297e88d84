"""Endpoint secrets: made once, kept encrypted at rest, used to sign per Standard Webhooks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
_KEY_PURPOSE = b"taskmanager webhook secrets v1"
_NONCE_BYTES = 12


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes, the form Standard Webhooks libraries accept."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _cipher(server_key: bytes) -> AESGCM:
    # A key of its own, derived from SECRET_KEY: the cursor-signing key is never used to
    # encrypt, and rotating SECRET_KEY makes stored secrets unreadable (endpoints then
    # need a new secret), which is the point of keeping them out of the database's reach.
    return AESGCM(hmac.new(server_key, _KEY_PURPOSE, hashlib.sha256).digest())


def encrypt_secret(server_key: bytes, secret: str, *, endpoint_id: str) -> str:
    """base64(nonce + AES-GCM ciphertext), bound to the endpoint: a secret copied onto
    another endpoint's row does not decrypt."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(server_key).encrypt(nonce, secret.encode(), endpoint_id.encode())
    return base64.b64encode(nonce + sealed).decode()


def decrypt_secret(server_key: bytes, stored: str, *, endpoint_id: str) -> str:
    raw = base64.b64decode(stored)
    nonce, sealed = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
    return _cipher(server_key).decrypt(nonce, sealed, endpoint_id.encode()).decode()


def signed_headers(secret: str, *, message_id: str, body: str, now: dt.datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt (a retry is signed afresh, so its
    timestamp stays within the receivers' tolerance)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
    }
