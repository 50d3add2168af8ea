"""Decision messages: ``"{impacted.id} is running in {change.component}"``.

Placeholders name a field exactly as conditions do (``section.field[.sub.key]``); unknown placeholders
are a validation error at load time, and ``{{``/``}}`` are literal braces. At evaluation a value that is
missing (or null) renders as ``<unset>``; lists render comma-separated, objects as compact JSON,
booleans as ``true``/``false``; a time's `clock`, `date` and `month_day` as a rule writes them (`17:45`,
`2026-12-24`, `12-24`), not as the numbers rules compare.
"""

from __future__ import annotations

import json
import re

from app.policy.fields import SECTIONS, resolve_field, suggest

UNSET = "<unset>"
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


PLACEHOLDER_SECTIONS = SECTIONS + ("time", "count")


def parse(
    text: str, scope: str, counts: dict | None = None, refused_counts: frozenset = frozenset()
) -> tuple[list, list[str]]:
    """-> (parts, problems). Parts are literal strings and ``(section, path)`` tuples.

    ``counts`` maps the rule's count names to their keys: ``{count.<name>}`` is how many rows matched,
    ``{count.<name>.ids}`` which ones. ``refused_counts`` are names the rule's YAML gives a count that was
    refused (its own error says why): a placeholder naming one is not reported again, as "no count named"
    would send the author to name a count that is named.
    """
    parts: list = []
    problems: list[str] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        pos = m.end()
        token = m.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
            continue
        if token in ("{", "}"):
            problems.append(f"unbalanced {token!r} at position {m.start()} (write {token * 2} for a literal brace)")
            continue
        name = m.group(1).strip()
        section, _, rest = name.partition(".")
        if section not in PLACEHOLDER_SECTIONS or section == "siblings" or not rest:
            problems.append(
                f"unknown placeholder {{{name}}} (placeholders look like {{change.component}}, "
                f"{{component.config.some_key}}, {{impacted.id}}, {{time.UTC.weekday}} or "
                f"{{count.<name>}})"
            )
            continue
        if section == "count":
            alias, _, tail = rest.partition(".")
            if alias not in (counts or {}):
                if alias not in refused_counts:
                    problems.append(
                        f"unknown placeholder {{{name}}}: no count named {alias!r} in this rule" + _named(alias, counts)
                    )
                continue
            rest = counts[alias] + (f".{tail}" if tail else "")
        fld, reason = resolve_field(section, rest)
        if fld is None:
            problems.append(f"unknown placeholder {{{name}}}: {reason}")
            continue
        if section == "impacted" and scope != "impacted":
            problems.append(
                f"placeholder {{{name}}} needs an impacted section in when "
                "(this rule is evaluated against the change only)"
            )
            continue
        parts.append((section, fld.path))
    if pos < len(text):
        parts.append(text[pos:])
    return parts, problems


def _named(alias: str, counts: dict | None) -> str:
    """How to name the count a placeholder meant: the nearest name the rule gives one, else how to give one."""
    if not counts:
        return " (give the count a name: count: {name: ..., ...})"
    return suggest(alias, counts) or f" (its counts are named {', '.join(sorted(counts))})"


def lookup(fact: dict, section: str, path: tuple[str, ...]):
    value = fact.get(section) if isinstance(fact, dict) else None
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def show(value) -> str:
    if value is None:
        return UNSET
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ", ".join(show(v) for v in value) if value else "[]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


# time fields a rule compares as numbers (15:30 is 1530), written in a message as a rule writes them
TIME_FORMS = {
    "clock": lambda n: f"{n // 100:02d}:{n % 100:02d}",
    "date": lambda n: f"{n // 10000:04d}-{n // 100 % 100:02d}-{n % 100:02d}",
    "month_day": lambda n: f"{n // 100:02d}-{n % 100:02d}",
}


def render(parts: list, fact: dict) -> str:
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = lookup(fact, part[0], part[1])
        form = TIME_FORMS.get(part[1][-1]) if part[0] == "time" and part[1] else None
        out.append(form(value) if form and type(value) is int else show(value))
    return "".join(out)
