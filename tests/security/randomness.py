"""Statistics for secret ids: checks a correct 256-bit CSPRNG id fails with p < 1e-9."""

from __future__ import annotations

import base64
import itertools
import math
import re

BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# Each statistical check below fails a correct generator (256 bits from a CSPRNG) with
# probability at most ALPHA, by a bound that holds whatever the sample (Hoeffding, union
# bounds), not by a normal approximation: four checks, < 4e-10 per list of ids. They still catch
# the usual broken generators: too short (uuid4, token_hex(16)), structured (a timestamp
# or counter inside, a version nibble), low-entropy or biased bytes. No sample can tell a
# CSPRNG from a good PRNG: sessions.py draws from `secrets`, which reviewers check.
ALPHA = 1e-10


def bits(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _ones(data: bytes) -> int:
    return sum(bin(byte).count("1") for byte in data)


def hoeffding_margin(n: int, events: int = 1) -> float:
    """t with `events` * P(|Binomial(n, 1/2) - n/2| >= t) <= ALPHA (2 exp(-2 t^2 / n) each)."""
    return math.sqrt(n * math.log(2 * events / ALPHA) / 2)


def assert_random_256_bit_ids(ids: list[str]) -> None:
    """The statistics of the session-id test, reusable on any list of ids."""
    assert len(set(ids)) == len(ids), "a session id was issued twice"
    for value in ids:
        assert BASE64URL.match(value), value
        assert len(bits(value)) * 8 >= 256, f"{value!r} carries fewer than 256 bits"
    raw = [bits(value)[:32] for value in ids]
    # 1. Balanced bits overall.
    total = 256 * len(raw)
    ones = sum(_ones(r) for r in raw)
    assert abs(ones - total / 2) < hoeffding_margin(total), f"{ones} ones in {total} bits"
    # 2. Every pair differs in about half its bits (catches shared structure: time, counter).
    pairs = list(itertools.combinations(raw, 2))
    margin = hoeffding_margin(256, events=len(pairs))
    distances = [_ones(bytes(x ^ y for x, y in zip(a, b, strict=True))) for a, b in pairs]
    assert 128 - margin < min(distances) and max(distances) < 128 + margin, (
        f"Hamming distances {min(distances)}..{max(distances)}, allowed 128 +- {margin:.0f}"
    )
    # 3. No byte position is fixed (P(one position equal in all N) = 256^-(N-1)).
    for position in range(32):
        assert len({r[position] for r in raw}) > 1, f"byte {position} is the same in every id"
    # 4. No two share a long prefix: P(some pair shares >= k base64 characters) <= pairs *
    # 64^-k; the smallest k that keeps this under ALPHA.
    k = math.ceil(math.log(len(pairs) / ALPHA, 64))
    longest = max(len(_common_prefix(a, b)) for a, b in itertools.combinations(ids, 2))
    assert longest < k, f"two session ids share a {longest}-character prefix (limit {k})"


def _common_prefix(a: str, b: str) -> str:
    return "".join(
        x for x, _ in itertools.takewhile(lambda p: p[0] == p[1], zip(a, b, strict=False))
    )
