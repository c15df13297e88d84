"""Fractional ordering keys: strings that sort by plain byte order, with room between any two.

The algorithm is the well-known "fractional-indexing" one (an integer part whose first
character encodes its length, then a fraction in base 62, never ending in "0"), so appending
at the end of a column keeps keys short and inserting between two neighbours never needs to
touch another row. Keys only use 0-9A-Za-z, whose ASCII order is the sort order: compare them
bytewise (PostgreSQL column collation "C", SQLite's default BINARY).
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ZERO = DIGITS[0]
_SMALLEST_INTEGER = "A" + _ZERO * 26


class InvalidOrderKey(ValueError):
    pass


def _midpoint(a: str, b: str | None) -> str:
    """A fraction strictly between fractions a and b (b None means 1)."""
    if b is not None and a >= b:
        raise InvalidOrderKey(f"{a!r} >= {b!r}")
    if a[-1:] == _ZERO or (b is not None and b[-1:] == _ZERO):
        raise InvalidOrderKey("trailing zero")
    if b is not None:
        n = 0
        while (a[n] if n < len(a) else _ZERO) == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    digit_a = DIGITS.index(a[0]) if a else 0
    digit_b = DIGITS.index(b[0]) if b is not None else len(DIGITS)
    if digit_b - digit_a > 1:
        return DIGITS[(digit_a + digit_b + 1) // 2]
    if b is not None and len(b) > 1:
        return b[:1]
    return DIGITS[digit_a] + _midpoint(a[1:], None)


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise InvalidOrderKey(f"invalid order key head {head!r}")


def _integer_part(key: str) -> str:
    length = _integer_length(key[0])
    if length > len(key):
        raise InvalidOrderKey(f"invalid order key {key!r}")
    return key[:length]


def validate_key(key: str) -> None:
    if not key or any(c not in DIGITS for c in key):
        raise InvalidOrderKey(f"invalid order key {key!r}")
    if key == _SMALLEST_INTEGER:
        raise InvalidOrderKey(f"invalid order key {key!r}")
    integer = _integer_part(key)
    if key[len(integer) :][-1:] == _ZERO:
        raise InvalidOrderKey(f"invalid order key {key!r}")


def _increment_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    carry = True
    for i in reversed(range(len(digits))):
        d = DIGITS.index(digits[i]) + 1
        if d == len(DIGITS):
            digits[i] = _ZERO
        else:
            digits[i] = DIGITS[d]
            carry = False
            break
    if carry:
        if head == "Z":
            return "a" + _ZERO
        if head == "z":
            return None
        new_head = chr(ord(head) + 1)
        if new_head > "a":
            digits.append(_ZERO)
        else:
            digits.pop()
        return new_head + "".join(digits)
    return head + "".join(digits)


def _decrement_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    borrow = True
    for i in reversed(range(len(digits))):
        d = DIGITS.index(digits[i]) - 1
        if d == -1:
            digits[i] = DIGITS[-1]
        else:
            digits[i] = DIGITS[d]
            borrow = False
            break
    if borrow:
        if head == "a":
            return "Z" + DIGITS[-1]
        if head == "A":
            return None
        new_head = chr(ord(head) - 1)
        if new_head < "Z":
            digits.append(DIGITS[-1])
        else:
            digits.pop()
        return new_head + "".join(digits)
    return head + "".join(digits)


def key_between(a: str | None, b: str | None) -> str:
    """A key k with a < k < b (None: unbounded on that side). Raises if a >= b."""
    if a is not None:
        validate_key(a)
    if b is not None:
        validate_key(b)
    if a is not None and b is not None and a >= b:
        raise InvalidOrderKey(f"{a!r} >= {b!r}")
    if a is None:
        if b is None:
            return "a" + _ZERO
        int_b = _integer_part(b)
        frac_b = b[len(int_b) :]
        if int_b == _SMALLEST_INTEGER:
            return int_b + _midpoint("", frac_b)
        if int_b < b:
            return int_b
        res = _decrement_integer(int_b)
        if res is None:
            raise InvalidOrderKey("cannot decrement any more")
        return res
    int_a = _integer_part(a)
    frac_a = a[len(int_a) :]
    if b is None:
        inc = _increment_integer(int_a)
        return int_a + _midpoint(frac_a, None) if inc is None else inc
    int_b = _integer_part(b)
    frac_b = b[len(int_b) :]
    if int_a == int_b:
        return int_a + _midpoint(frac_a, frac_b)
    inc = _increment_integer(int_a)
    if inc is None:
        raise InvalidOrderKey("cannot increment any more")
    if inc < b:
        return inc
    return int_a + _midpoint(frac_a, None)
