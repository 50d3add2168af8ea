"""Conditions on the request's local time: ``time: {zone: Europe/Paris, hour: {between: [9, 17]}}``.

A time field takes the values an operator writes (a weekday's name, ``'HH:MM'``, ``YYYY-MM-DD``,
``MM-DD``) and the facts carry them as text or numbers (app.policy.derive): each value is converted here,
once, to the form it is compared in, and a ``between`` over a cyclic field whose ``from`` is after its
``to`` (``hour: {between: [22, 6]}``) becomes a window that wraps around. Apart from the condition parser
(app.policy.conditions) because these are values of the clock, not of a component.
"""

from __future__ import annotations

import datetime as dt
import re

from app.policy.errors import Errors
from app.policy.fields import BOOLEAN_HINT, WEEKDAYS, Field
from app.policy.literals import distinct, shown
from app.policy.tree import All, AnyOf, Cmp

TIME_OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between")
WEEKDAY_OPS = ("eq", "ne", "in", "not_in")  # a weekday has no order
CYCLIC = ("hour", "minute", "clock", "month_day")  # between: [from, to] with from > to wraps around
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def time_operator_problem(fld: Field, op: str) -> str | None:
    """Why operator `op` does not apply to the time field `fld` (None when it does).

    ``local`` is the text 'YYYY-MM-DD HH:MM' for messages: no operator compares it (its value was once
    read as a month-day, a number the text never equals, so the rule could never fire)."""
    if fld.path[1] == "local":
        return (
            f"{fld.name} is text for messages, not compared: compare weekday ({', '.join(WEEKDAY_OPS)}: "
            f"mon … sun), or hour, minute (0-23, 0-59), clock ('HH:MM'), date (YYYY-MM-DD) or month_day "
            f"('MM-DD') ({', '.join(TIME_OPS)})"
        )
    allowed = WEEKDAY_OPS if fld.path[1] == "weekday" else TIME_OPS
    if op not in allowed:
        return f"operator {op} does not apply to {fld.name} (expected one of {', '.join(allowed)})"
    return None


def time_operand(fld: Field, op: str, value, path: str, errors: Errors):
    """The condition `fld op value` on a time field, its values converted; None (errors added) when refused.

    Only the rule's own values: a ``{field: …}`` operand would compare the clock's encoded form (HHMM,
    YYYYMMDD, a weekday's short name) with whatever the fact holds, which is not what the rule says."""
    name = fld.path[1]
    if isinstance(value, dict):
        errors.add(path, f"{fld.name} compares with values written in the rule, not with another field ({{field: …}})")
        return None
    if op == "between":
        return _between(fld, name, value, path, errors)
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            errors.add(path, f"expected a non-empty list, got {shown(value)}")
            return None
        values = [time_value(name, v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
        return None if None in values else Cmp(fld, op, distinct(values))
    converted = time_value(name, value, path, errors)
    return None if converted is None else Cmp(fld, op, converted)


def _between(fld: Field, name: str, value, path: str, errors: Errors):
    """``between: [from, to]``, both ends included; on a cyclic field a `from` after `to` wraps around."""
    if not isinstance(value, list) or len(value) != 2:
        errors.add(path, f"expected [from, to], got {shown(value)}")
        return None
    low, high = (time_value(name, v, f"{path}[{i}]", errors) for i, v in enumerate(value))
    if low is None or high is None:
        return None
    if low <= high:
        return All((Cmp(fld, "gte", low), Cmp(fld, "lte", high)))
    if name not in CYCLIC:
        errors.add(path, f"from {value[0]} is after to {value[1]}")
        return None
    return AnyOf((Cmp(fld, "gte", low), Cmp(fld, "lte", high)))  # wraps: 22..6, 12-20..01-03


def time_value(name: str, value, path: str, errors: Errors):
    """A rule's value for time field `name` in the form the facts carry (weekday text, or a number);
    None (the error added) when it is no such value."""
    converted, bad = _CONVERTERS[name](value)  # `local` has none: time_operator_problem refuses it
    if bad is None:
        return converted
    errors.add(path, bad + (BOOLEAN_HINT if isinstance(value, bool) else ""))
    return None


def _weekday(value) -> tuple:
    if (
        isinstance(value, str)
        and value.lower()[:3] in WEEKDAYS
        and (len(value) == 3 or value.lower() in _WEEKDAY_NAMES)
    ):
        return value.lower()[:3], None
    return None, f"expected a weekday ({', '.join(WEEKDAYS)}), got {value!r}"


def _bounded(top: int):
    """An hour (0-23) or a minute (0-59)."""

    def convert(value) -> tuple:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top:
            return value, None
        return None, f"expected an integer 0-{top}, got {value!r}"

    return convert


def _clock(value) -> tuple:
    """'HH:MM' as the number HHMM."""
    m = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", value) if isinstance(value, str) else None
    if m:
        return int(m.group(1)) * 100 + int(m.group(2)), None
    hint = " (quote it: YAML reads 15:00 unquoted as the number 900)" if isinstance(value, int) else ""
    return None, f"expected a time of day 'HH:MM', got {value!r}{hint}"


def _date(value) -> tuple:
    """YYYY-MM-DD (as YAML's date or as text) as the number YYYYMMDD."""
    day = value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else None
    if isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
        except ValueError:
            day = None
    if day is not None:
        return day.year * 10000 + day.month * 100 + day.day, None
    return None, f"expected a date YYYY-MM-DD, got {value!r}"


def _month_day(value) -> tuple:
    """'MM-DD' (a day of every year) as the number MMDD."""
    m = re.fullmatch(r"(\d{2})-(\d{2})", value) if isinstance(value, str) else None
    if m:
        try:
            dt.date(2000, int(m.group(1)), int(m.group(2)))  # a leap year: 02-29 is a day
            return int(m.group(1)) * 100 + int(m.group(2)), None
        except ValueError:
            pass
    return None, f"expected a day of the year 'MM-DD' (every year), got {value!r}"


_CONVERTERS = {
    "weekday": _weekday,
    "hour": _bounded(23),
    "minute": _bounded(59),
    "clock": _clock,
    "date": _date,
    "month_day": _month_day,
}
