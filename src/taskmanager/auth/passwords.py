"""Password hashing (argon2id, OWASP parameters) off the event loop; the common-password rule."""

from __future__ import annotations

import asyncio
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

MIN_LENGTH = 8
MAX_LENGTH = 1024


@cache
def _dummy_hash() -> str:
    return _hasher.hash("dummy password used to equalise timing")


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("taskmanager.auth").joinpath("common_passwords.txt").read_text()
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    return password.lower() in common_passwords()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Verify; with no hash (unknown account) verify against a dummy so timing matches."""
    if password_hash is None:
        await asyncio.to_thread(_verify, _dummy_hash(), password)
        return False
    return await asyncio.to_thread(_verify, password_hash, password)


def warm_up() -> None:
    """Compute the dummy hash before the first login so that login's timing is even."""
    _dummy_hash()
