"""RFC 5545 recurrence rules (python-dateutil's rrule): validation and the next date."""

from __future__ import annotations

import datetime as dt

from dateutil.rrule import rrulestr

# Parts a stored rule may not carry: the series starts at the task's due date.
_FORBIDDEN = ("DTSTART", "RRULE:", "EXDATE", "RDATE", "\n")


def check_rule(rule: str) -> str:
    """The rule, upper-cased, if it is a plain RRULE value dateutil understands; else ValueError
    (pydantic turns it into a 422 naming the field)."""
    value = rule.strip().upper()
    if any(part in value for part in _FORBIDDEN):
        raise ValueError("give only the RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO")
    try:
        rrulestr(value, dtstart=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a valid RFC 5545 RRULE: {exc}") from None
    return value


def next_due(rule: str, due_at: dt.datetime) -> dt.datetime | None:
    """The occurrence after `due_at` of the series starting there; None when it has ended."""
    following: dt.datetime | None = rrulestr(rule, dtstart=due_at).after(due_at)
    return following
