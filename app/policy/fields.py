"""The fact fields rules may use: the ONE declaration (section -> field -> type + description).

The rule validator (:mod:`app.policy.conditions`, :mod:`app.policy.template`) accepts exactly these
fields, and the fact builder (:func:`app.changes.set_analysis.operation_facts`) builds exactly these fields
(``tests/unit/test_policy_fields.py`` holds it to that). docs/rules.md describes them for rule authors.

A field reference in a rule (``impacted.runtime.state``) resolves to a :class:`Field` here, so that the
conditions and the message templates share one resolver without importing each other.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

# Field types. OPEN fields (config, runtime, old, new) hold JSON written by people or deploys; any dotted
# sub-path below them is allowed (ANY). The bare OPEN field itself is an object (OBJECT).
STR, INT, BOOL, LIST, OPEN, ANY, OBJECT = "string", "integer", "boolean", "list", "open", "any", "object"


@dataclass(frozen=True)
class FactField:
    type: str
    description: str


def _f(ftype: str, description: str) -> FactField:
    return FactField(ftype, description)


FIELDS: dict[str, dict[str, FactField]] = {
    "change": {
        "component": _f(STR, "the changed component's id, e.g. subnet/karma-dev-private-a"),
        "type": _f(STR, "the changed component's type"),
        "nickname": _f(STR, "the changed component's nickname"),
        "environment": _f(STR, "the changed component's environment"),
        "changed_keys": _f(LIST, "config keys the change touches"),
        "added_keys": _f(LIST, "config keys the change adds"),
        "removed_keys": _f(LIST, "config keys the change removes"),
        "modified_keys": _f(LIST, "config keys whose value the change modifies"),
        "old": _f(OPEN, "the touched keys' values before the change (no added keys)"),
        "new": _f(OPEN, "the touched keys' values after the change (no removed keys)"),
        "requested_by": _f(STR, "who asked"),
        "reason": _f(STR, "why (may be unset)"),
        "affected_count": _f(
            INT, "how many components the change reaches (in a set: the set's own that it reaches included)"
        ),
        "on_blocked": _f(STR, "what the requester wants on a block: reject or queue"),
        "op": _f(STR, "the operation: create, update, delete, add_edge or remove_edge (a single change is an update)"),
        "set_size": _f(INT, "how many operations the change set has (1 for a single change)"),
        "set_components": _f(LIST, "the ids of every component the change set creates, updates or deletes"),
        "drift": _f(
            LIST,
            "the changed component's drift kinds before the change: contract, reference, runtime, orphan "
            "(docs/drift.md)",
        ),
    },
    "component": {
        "id": _f(STR, "the changed component's id"),
        "type": _f(STR, "its type"),
        "nickname": _f(STR, "its nickname"),
        "environment": _f(STR, "its environment"),
        "version": _f(INT, "its current config version"),
        "config": _f(OPEN, "its current config"),
        "runtime": _f(OPEN, "its current runtime outputs"),
    },
    "impacted": {
        "id": _f(STR, "the impacted component's id"),
        "type": _f(STR, "its type"),
        "nickname": _f(STR, "its nickname"),
        "environment": _f(STR, "its environment"),
        "version": _f(INT, "its config version"),
        "depth": _f(INT, "hops from the changed component"),
        "path": _f(LIST, "component ids from the changed component to this one"),
        "edge_kinds": _f(LIST, "the kinds of the edges along path"),
        "edge_kind": _f(STR, "the kind of the last edge on path"),
        "runtime": _f(OPEN, "its runtime outputs"),
        "runtime_published": _f(BOOL, "whether it has published any runtime outputs"),
        "missing_outputs": _f(LIST, "declared runtime outputs of its type missing from its runtime"),
        "unpublished_reads": _f(LIST, "outputs it reads from a provider whose type does not publish them"),
        "action": _f(STR, "what it needs after the change (redeploy, rolling-restart, review, ...)"),
        "config": _f(OPEN, "its current config"),
        "path_types": _f(LIST, "the types of the components along path (the changed one first)"),
        "via": _f(LIST, "the reference key (config key) of each edge along path, e.g. s3_bucket_nickname"),
        "drift": _f(LIST, "its drift kinds (contract, reference, runtime, orphan; docs/drift.md)"),
    },
    # components of the changed component's type that depend on the same provider through the same
    # reference key (the other subnets of its VPC); rules reach them through count: {siblings: ...}
    "siblings": {
        "id": _f(STR, "the sibling's id"),
        "type": _f(STR, "its type (the changed component's type)"),
        "nickname": _f(STR, "its nickname"),
        "environment": _f(STR, "its environment"),
        "config": _f(OPEN, "its current config"),
    },
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # time.<zone>.weekday's values, Monday first

# Sections the engine derives from the request before evaluation (not built by the pipeline):
# time.<zone>.<field> from the request time, count.<name>.<field> from the impact / siblings.
DERIVED: dict[str, dict[str, FactField]] = {
    "time": {
        "weekday": _f(STR, "mon, tue, wed, thu, fri, sat or sun"),
        "hour": _f(INT, "0-23"),
        "minute": _f(INT, "0-59"),
        "clock": _f(INT, "the time of day as HH:MM (compared as a number HHMM)"),
        "date": _f(INT, "the date as YYYY-MM-DD (compared as a number YYYYMMDD)"),
        "month_day": _f(INT, "the day of the year as MM-DD, every year (compared as a number MMDD)"),
        "local": _f(STR, "the local date and time, 'YYYY-MM-DD HH:MM' (for messages)"),
    },
    "count": {
        "n": _f(INT, "how many rows matched the count's filter"),
        "ids": _f(LIST, "the ids of the rows that matched"),
    },
}

# Fields whose every value is a name Karma checks before it is stored — a component id (`type/nickname`),
# a type or an environment (lower-case letters, digits and '-'), an operation, an edge kind, a drift kind,
# an action — and so never a CIDR block or an address: `overlaps` on one never holds (refused at load,
# app.policy.conditions). Field -> what its values are. A nickname may be `10.0.0.1`, and config keys,
# output names, identities and reasons are free text: `overlaps` on those may hold.
NAMES_ONLY: dict[str, str] = {
    "change.component": "component ids",
    "change.set_components": "component ids",
    "component.id": "component ids",
    "impacted.id": "component ids",
    "impacted.path": "component ids",
    "siblings.id": "component ids",
    "change.type": "component types",
    "component.type": "component types",
    "impacted.type": "component types",
    "impacted.path_types": "component types",
    "siblings.type": "component types",
    "change.environment": "environments",
    "component.environment": "environments",
    "impacted.environment": "environments",
    "siblings.environment": "environments",
    "change.op": "operations",
    "change.on_blocked": "the words reject and queue",
    "impacted.edge_kind": "edge kinds",
    "impacted.edge_kinds": "edge kinds",
    "change.drift": "drift kinds",
    "impacted.drift": "drift kinds",
    "impacted.action": "actions",
}

SECTIONS = tuple(FIELDS)  # sections of a fact built by the pipeline
ROW_SECTIONS = ("impacted", "siblings")  # what a count counts
CONDITION_SECTIONS = ("change", "component", "impacted")  # sections a when: names directly
KEY_RE = re.compile(r"^[A-Za-z0-9_-]+$")
# why a boolean stands where text was wanted (`nickname: on`, a candidate `on`): YAML 1.1 read the word
BOOLEAN_HINT = " (YAML reads yes/no/on/off/true/false as booleans; quote the value)"


def names(section: str) -> tuple[str, ...]:
    """The declared field names of a section, in declaration order (what the fact builder must build)."""
    return tuple(FIELDS[section])


def suggest(word, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Field:
    """A resolved field reference: ``impacted.runtime.state`` is ("impacted", ("runtime", "state"), ANY)."""

    section: str
    path: tuple[str, ...]
    ftype: str

    @property
    def name(self) -> str:
        return ".".join((self.section,) + self.path)


# Names the zone database of a host may hold that are no IANA zone but that host's own setting:
# `localtime` is /etc/localtime (UTC on one machine, Europe/Paris on the next) and `posixrules` the
# default rules for POSIX TZ strings. A rule naming one would decide by the machine it runs on.
_HOST_ZONES = frozenset({"localtime", "posixrules"})


@lru_cache(maxsize=1)
def _zones() -> frozenset:
    return (frozenset(zoneinfo.available_timezones()) - _HOST_ZONES) | {"UTC"}


def zone_problem(zone) -> str | None:
    """Why ``zone`` is not an IANA time zone name (None when it is)."""
    if zone in _HOST_ZONES:
        return (
            f"time zone {zone!r} is this machine's own setting, not an IANA zone (another host would decide "
            "differently): name the zone, such as Europe/Paris or UTC"
        )
    if not isinstance(zone, str) or zone not in _zones():
        shown = repr(zone) if isinstance(zone, str) else f"a {type(zone).__name__}"
        return f"unknown time zone {shown} (an IANA name such as Europe/Paris or UTC){suggest(zone, _zones())}"
    return None


def _derived(section: str, parts: list[str]) -> tuple[Field | None, str | None]:
    """``time.<zone>.<field>`` and ``count.<name>[.<field>]`` (a bare count name means its n)."""
    known = DERIVED[section]
    if section == "time":
        if len(parts) != 2:
            return None, "time fields are time.<zone>.<field>, e.g. time.Europe/Paris.hour"
        problem = zone_problem(parts[0])
        if problem:
            return None, problem
    else:
        if len(parts) == 1:
            parts = [parts[0], "n"]
        if len(parts) != 2 or not KEY_RE.match(parts[0]):
            return None, "count fields are count.<name> or count.<name>.ids"
    if parts[1] not in known:
        return None, f"unknown field{suggest(parts[1], known)} (expected one of {', '.join(known)})"
    return Field(section, (parts[0], parts[1]), known[parts[1]].type), None


def resolve_field(section: str, dotted: str) -> tuple[Field | None, str | None]:
    """``("impacted", "runtime.state")`` -> Field, or (None, reason)."""
    if not isinstance(dotted, str) or not dotted:
        return None, "unknown field"
    parts = dotted.split(".")
    if section in DERIVED:
        return _derived(section, parts)
    known = FIELDS[section]
    head = parts[0]
    if head not in known:
        return None, f"unknown field{suggest(head, known)}"
    ftype = known[head].type
    if len(parts) == 1:
        return Field(section, (head,), OBJECT if ftype == OPEN else ftype), None
    if ftype != OPEN:
        return None, f"unknown field ({section}.{head} is a {ftype} field and has no sub-fields)"
    for part in parts[1:]:
        if not KEY_RE.match(part):
            return None, f"bad key {part!r} in field path (keys are ASCII letters, digits, '_' and '-')"
    return Field(section, tuple(parts), ANY), None


def build(section: str, values: dict) -> dict:
    """The fact of one section: exactly the declared fields, in declaration order.

    The fact builder computes ``values``; a declared field it forgot is a KeyError here (a bug, found by
    the first test that builds facts), and anything undeclared is left out (no rule could read it).
    """
    declared = FIELDS[section] if section in FIELDS else DERIVED[section]
    return {name: values[name] for name in declared}
