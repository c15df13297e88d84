"""Fractional ordering keys: property-style checks with plain random loops."""

from __future__ import annotations

import random

import pytest

from taskmanager.kit.ordering import DIGITS, InvalidOrderKey, key_between, validate_key


def test_first_keys() -> None:
    assert key_between(None, None) == "a0"
    assert key_between("a0", None) == "a1"
    assert key_between(None, "a0") == "Zz"
    assert key_between("a0", "a1") == "a0V"


def test_alphabet_is_in_byte_order() -> None:
    assert list(DIGITS) == sorted(DIGITS)


def test_append_many_stays_short_and_sorted() -> None:
    keys = [key_between(None, None)]
    for _ in range(10_000):
        keys.append(key_between(keys[-1], None))
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert max(map(len, keys)) <= 4


def test_prepend_many() -> None:
    keys = [key_between(None, None)]
    for _ in range(5_000):
        keys.insert(0, key_between(None, keys[0]))
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_random_inserts_keep_total_order() -> None:
    rng = random.Random(42)
    keys: list[str] = []
    for _ in range(3_000):
        i = rng.randint(0, len(keys))
        a = keys[i - 1] if i > 0 else None
        b = keys[i] if i < len(keys) else None
        k = key_between(a, b)
        validate_key(k)
        assert (a is None or a < k) and (b is None or k < b)
        keys.insert(i, k)
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_repeated_insert_between_same_neighbours() -> None:
    lo, hi = key_between(None, None), None
    hi = key_between(lo, None)
    for _ in range(500):  # always squeeze right after `lo`
        k = key_between(lo, hi)
        assert lo < k < hi
        hi = k
    for _ in range(500):  # always squeeze right before `hi`
        k = key_between(lo, hi)
        assert lo < k < hi
        lo = k


def test_bytewise_sort_equals_str_sort() -> None:
    rng = random.Random(7)
    keys = [key_between(None, None)]
    for _ in range(1_000):
        i = rng.randint(0, len(keys))
        keys.insert(i, key_between(keys[i - 1] if i else None, keys[i] if i < len(keys) else None))
    assert keys == sorted(keys, key=lambda k: k.encode("ascii"))


@pytest.mark.parametrize(
    ("a", "b"), [("a1", "a0"), ("a0", "a0"), ("a10", None), ("", None), ("!!", None), (None, "b")]
)
def test_invalid_input(a: str | None, b: str | None) -> None:
    with pytest.raises(InvalidOrderKey):
        key_between(a, b)
