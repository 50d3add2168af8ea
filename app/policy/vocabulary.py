"""What a rule may name that the language itself does not fix: the component types loaded (their config
keys, whether their schema is closed, their runtime outputs, the values an `enum` lets a key hold), the
operations of a change and the edge kinds. A rule naming one that does not exist can never match as
written (`type: lamda`, `op: updte`): it is refused at load time, naming the rule, the place, the value
and the nearest valid one (docs/rules.md, "Names a rule must get right"). The fact fields and sections
are the language's own (app.policy.fields).

Only what is certainly wrong is refused: an operation, edge kind or drift kind there is not (the code
fixes them), and a misspelling (CLOSE) of what the loaded types have — a type no loaded type is, or a
config key (runtime output) of a type whose schema allows no other, when every alternative of the
condition pins its component to loaded types none of which has it, or that a remedy's change sets
(`proposed_change`, a create's `config`) on a component it pins so. A type or key far from every one the
loaded types have is not a typo but another deployment's vocabulary (the shipped rules name `subnet`, and
a serverless-site's `cloudfront_aliases`; a config repository adopted with its own types has neither):
the rule stands, *inert* where it needs that name — nothing of these types matches it — and says so
(`Rule.inert`: `karma rules validate`, `karma rules list`, the service's log at load; `karma rules
coverage` calls it never matching). A key of an open schema, or of a component whose type the rule leaves
open, is data the rule may rightly expect.

Types are data (types/, KARMA_TYPES_DIR): the check reads the types the process loaded (the registry),
which the service reads once at start, before its rules; `karma rules coverage` reads the same table
(:func:`declared`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import NamedTuple

from app.changes.operations import OPS
from app.components.drift import KINDS as DRIFT_KINDS
from app.components.loader import TypeFileError
from app.components.registry import EDGE_KINDS, registry
from app.policy import template
from app.policy.errors import RuleFileError
from app.policy.remedies import Template
from app.policy.remedies import proposals as remedy_proposals
from app.policy.remedies import templates as remedy_templates
from app.policy.tree import MAX_ALTERNATIVES, Cmp, FieldRef, allowed_values, alternatives

LITERAL_OPS = ("eq", "ne", "in", "not_in", "contains", "contains_any", "contains_all")
TYPE_FIELDS = ("change.type", "component.type", "impacted.type", "siblings.type", "impacted.path_types")
# a field whose values are a closed set the code fixes -> (what one is called, its values)
FIXED_VALUES = {
    "change.op": ("operation", OPS),
    "impacted.edge_kind": ("edge kind", tuple(EDGE_KINDS)),
    "impacted.edge_kinds": ("edge kind", tuple(EDGE_KINDS)),
    "change.drift": ("drift kind", DRIFT_KINDS),
    "impacted.drift": ("drift kind", DRIFT_KINDS),
    "change.on_blocked": ("on_blocked value", ("reject", "queue")),
}
# an impacted component's action is its type's (types are data), `review` for a type not loaded
# (app.changes.facts.ImpactedRows)
UNTYPED_ACTION = "review"
# which component a section's type fields and keys are about: the changed one (change, component), the
# impacted one, a sibling (in a count); the change's touched keys are the changed component's config keys
SIDE = {"change": "changed", "component": "changed", "impacted": "impacted", "siblings": "siblings"}
KEY_LISTS = ("changed_keys", "added_keys", "removed_keys", "modified_keys")
SHOWN_TYPES = 20
# a name at least this close to one that exists (difflib's ratio) is a misspelling of it: `lamda` (0.91),
# `ec2-instanse`, `subnets`, `route-53-zone`; a name farther from all (`subnet` among aws-config's types:
# 0.53 at best) names what these types do not have (docs/rules.md, "Names a rule must get right")
CLOSE = 0.8
NOTHING = "these types give it nothing to match"  # what an inert name's notice ends with


class DeclaredType(NamedTuple):
    config_keys: frozenset
    closed: bool  # the config schema refuses keys it does not declare
    runtime_outputs: frozenset
    runtime_closed: bool = True  # a runtime report holds declared outputs only (app.components.loader)
    # (config | runtime, key) -> the only texts the schema lets that top-level key hold (its `enum`)
    enums: dict | None = None
    action: str = ""  # what a change upstream requires of it (its type file's `action`)


def declared(types: Iterable) -> dict[str, DeclaredType]:
    """type name -> what a rule may name of it, from ComponentTypes."""
    return {
        t.name: DeclaredType(
            frozenset(t.config_keys),
            t.closed,
            frozenset(t.runtime_outputs),
            t.runtime_schema.get("additionalProperties") is False,
            {**_enums("config", t.config_schema), **_enums("runtime", t.runtime_schema)},
            t.action,
        )
        for t in types
    }


def _enums(kind: str, schema: dict) -> dict[tuple[str, str], frozenset]:
    """(kind, key) -> the texts a top-level key's `enum` allows — only an enum of texts (a key whose schema
    says more, `anyOf`, a `$ref`, numbers, is not judged)."""
    out = {}
    for key, spec in (schema.get("properties") or {}).items():
        values = spec.get("enum") if isinstance(spec, dict) else None
        if isinstance(values, list) and values and all(isinstance(v, str) for v in values):
            out[(kind, key)] = frozenset(values)
    return out


def loaded() -> dict[str, DeclaredType]:
    """The types this process loaded (the service: at start, before its rules; a CLI: KARMA_TYPES_DIR).
    When they cannot be read no rule can be judged: RuleFileError with the type files' problems."""
    try:
        return declared(registry.snapshot()[0])
    except TypeFileError as exc:
        raise RuleFileError([f"{problem} (the types rules are checked against)" for problem in exc.errors]) from None


def judge(rule, types: dict[str, DeclaredType]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(place in the file, why) for every name in ``rule`` that does not exist: those refused (a misspelling,
    or a name the code fixes), and those that make the rule inert (a type or key these types do not have)."""
    found: list[tuple[str, str, bool]] = []
    for cmp, place in rule.places:
        found += [(place, why, refused) for why, refused in _value_problems(rule, cmp, types)]
    keyed = _key_problems(rule, rule.when, types)
    for _domain, tree in rule.counts.values():
        keyed.update(_key_problems(rule, tree, types))
    trees = [(rule.when, True)] + [(tree, False) for _domain, tree in rule.counts.values()]
    for tree, decides in trees:  # a count's test that never holds counts 0: the rule may still fire
        for ident, whys in _enum_problems(rule, tree, types, decides).items():
            keyed.setdefault(ident, []).extend(whys)
    found += [(place, why, refused) for cmp, place in rule.places for why, refused in keyed.get(id(cmp), ())]
    found += [(place, why, True) for place, why in _placeholder_problems(rule, types)]
    found += _proposal_problems(rule, types)
    for remedy in rule.remedies:
        wanted = remedy.candidates.type if remedy.candidates is not None else None
        if wanted is not None and wanted not in types:
            where = f"rules[{rule.index}].remedies[{remedy.index}].candidates.type"
            found.append((where, *_unknown_type(rule, wanted, types)))
    refused = [(place, why) for place, why, certain in found if certain]
    return refused, [(place, why) for place, why, certain in found if not certain]


def problems(rule, types: dict[str, DeclaredType]) -> list[tuple[str, str]]:
    """(place in the file, why) for every name in ``rule`` it is refused for (judge's first list)."""
    return judge(rule, types)[0]


def _literals(cmp: Cmp) -> list:
    if cmp.op not in LITERAL_OPS or isinstance(cmp.value, FieldRef):
        return []
    return list(cmp.value) if isinstance(cmp.value, tuple) else [cmp.value]


def _value_problems(rule, cmp: Cmp, types: dict) -> list[tuple[str, bool]]:
    """(why, refused) for each value of the test that names nothing."""
    name = cmp.field.name
    if name in TYPE_FIELDS:
        return [_unknown_type(rule, v, types) for v in _literals(cmp) if isinstance(v, str) and v not in types]
    if name == "impacted.action":
        return [
            _unknown_action(rule, v, types) for v in _literals(cmp) if isinstance(v, str) and v not in _actions(types)
        ]
    if name in FIXED_VALUES:
        what, valid = FIXED_VALUES[name]
        return [
            (
                f"rule {rule.id!r} names {what} {v!r}, which does not exist{_nearest(v, valid)}: it is one of "
                f"{', '.join(valid)}",
                True,
            )
            for v in _literals(cmp)
            if isinstance(v, str) and v not in valid
        ]
    return []


def _unknown_type(rule, value: str, types: dict) -> tuple[str, bool]:
    """Why `value` names no loaded type, and whether that refuses the rule (a misspelling: CLOSE)."""
    names = sorted(types)
    shown = ", ".join(names[:SHOWN_TYPES]) + (", …" if len(names) > SHOWN_TYPES else "")
    where = f"the types are {shown or 'none'} ({registry.directory or 'types/'})"
    named = f"rule {rule.id!r} names component type {value!r}, which is not a loaded type"
    if _closest(value, names, CLOSE):
        return f"{named}{_nearest(value, names)}: {where}", True
    return f"{named}{_nearest_type(value, names)}: {NOTHING}, {where}", False


def _actions(types: dict) -> list[str]:
    return sorted({d.action for d in types.values() if d.action} | {UNTYPED_ACTION})


def _unknown_action(rule, value: str, types: dict) -> tuple[str, bool]:
    """Why `value` is no loaded type's action, and whether that refuses the rule (a misspelling: CLOSE)."""
    valid = _actions(types)
    said = f"rule {rule.id!r} names action {value!r}, which no loaded type has{_nearest(value, valid)}"
    said += f": the actions are {', '.join(valid)}"
    return (said, True) if _closest(value, valid, CLOSE) else (f"{said}: {NOTHING}", False)


def _nearest(word: str, valid: Iterable[str]) -> str:
    """` (did you mean 'x'?)`: the closest valid names, all of them when several are as close."""
    close = _closest(word, valid)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _closest(word: str, valid: Iterable[str], least: float = 0.6) -> list[str]:
    """The valid names most alike `word` (case aside: `aes256` is a misspelling of `AES256`), at least `least`."""
    scored = [(difflib.SequenceMatcher(None, word.casefold(), v.casefold()).ratio(), v) for v in valid]
    best = max((score for score, _v in scored), default=0.0)
    return sorted(v for score, v in scored if score == best)[:3] if best >= least else []


def _nearest_type(word: str, names: list[str]) -> str:
    """The nearest type by its whole name, else by its first word (`ec3` -> ec2-instance, `s4` -> s3-bucket)."""
    found = _nearest(word, names)
    if found:
        return found
    heads: dict[str, list[str]] = {}
    for name in names:
        heads.setdefault(name.split("-", 1)[0], []).append(name)
    close = [name for head in _closest(word, heads) for name in heads[head]]
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _named_key(cmp: Cmp) -> list[tuple[str, str, str]]:
    """(side, config | runtime, key) for each key of a component the test names: its field's, and its
    operand's when that is a field (`{eq: {field: change.new.vpc_nickname}}`)."""
    named = _field_key(cmp.field, _literals(cmp))
    if isinstance(cmp.value, FieldRef):
        named += _field_key(cmp.value.field, [])
    return named


def _field_key(fld, literals: list) -> list[tuple[str, str, str]]:
    sec, path = fld.section, fld.path
    side = SIDE.get(sec)
    if side is None:
        return []
    if sec == "change" and path[0] in KEY_LISTS and len(path) == 1:
        return [(side, "config", v) for v in literals if isinstance(v, str)]
    head = {"old": "config", "new": "config", "config": "config", "runtime": "runtime"}.get(path[0])
    if head is None or len(path) < 2 or (sec == "change") != (path[0] in ("old", "new")):
        return []
    return [(side, head, path[1])]


def _key_problems(rule, tree, types: dict) -> dict[int, list[tuple[str, bool]]]:
    """id(test) -> (why, refused), for each key a test names that no type its component can be has (closed schemas
    only): judged over every alternative that holds the test."""
    alts = alternatives(tree)
    if len(alts) >= MAX_ALTERNATIVES:
        return {}  # not every alternative seen: nothing is certain
    seen: dict[tuple, list] = {}  # (id(test), config | runtime, key) -> the types each alternative pins
    for alt in alts:
        pinned = _pinned(alt)
        for cmp, _neg in alt:
            for side, kind, key in _named_key(cmp):
                seen.setdefault((id(cmp), kind, key), []).append(pinned.get(side))
    out: dict[int, list[tuple[str, bool]]] = {}
    for (ident, kind, key), pins in seen.items():
        why = _missing_key(rule, kind, key, pins, types)
        if why:
            out.setdefault(ident, []).append(why)
    return out


def _pinned(alt) -> dict[str, set]:
    """side -> the types an alternative allows its component (absent: any)."""
    pinned: dict[str, set] = {}
    for cmp, neg in alt:
        side = SIDE.get(cmp.field.section)
        allowed = allowed_values(cmp, neg) if cmp.field.path == ("type",) else None
        if side and allowed is not None:
            pinned[side] = pinned[side] & allowed if side in pinned else set(allowed)
    return pinned


def _placeholder_problems(rule, types: dict) -> list[tuple[str, str]]:
    """(place, why) for each key a placeholder of the message or of a remedy names
    (`{component.config.versionnig}`) that is certainly absent from every component the rule can fire on:
    the rule fires, and its message says `<unset>` where the author meant a value — every time — or its
    remedy proposes a change set built of nothing (a null where a value was meant). Judged as a
    condition's key is (every alternative pins the component to loaded types with closed schemas, none of
    which has it), and refused, near or far: unlike a test that cannot hold, a placeholder that cannot
    render leaves the rule firing with words or steps that are wrong."""
    pins_by_side = _pins_by_side(rule)
    if pins_by_side is None:
        return []
    out = []
    for place, parts, whole in _templates(rule):
        for part in parts:
            if isinstance(part, str) or part[0] not in SIDE or not part[1]:
                continue
            for side, kind, key in _field_key(_Placeholder(*part), []):
                why = _missing_key(rule, kind, key, pins_by_side[side], types)
                if why:
                    name = ".".join((part[0], *part[1]))
                    said = why[0].removesuffix(f": {NOTHING}")
                    out.append((place, f"placeholder {{{name}}}: {said}: it would always {_unset(whole)}"))
    return out


def _pins_by_side(rule) -> dict[str, list] | None:
    """side -> the types each alternative of the rule's condition pins that component to (None: too many
    alternatives to see them all — nothing is certain)."""
    alts = alternatives(rule.when)
    if len(alts) >= MAX_ALTERNATIVES:
        return None
    return {side: [_pinned(alt).get(side) for alt in alts] for side in set(SIDE.values())}


# a placeholder that opens a remedy's `component` and names a component the rule fires on: its id (or its
# type, before the `/` of an id written `{impacted.type}/…`)
TARGET_IDS = (("change", ("component",)), ("component", ("id",)), ("impacted", ("id",)))


def _proposal_problems(rule, types: dict) -> list[tuple[str, str, bool]]:
    """(place, why, refused) for each config key a remedy's change sets (`proposed_change`, a create's
    `config`) that its component cannot hold, judged as a condition's key is (the types the component can
    be: the one the rule fires on, pinned by every alternative of its condition; a `{candidate.id}` of
    candidates of a type; an id that writes its type) — refused when it misspells a key of those types,
    else a warning (another deployment's key): the remedy's change would always be refused, or as a null
    remove nothing. Likewise a text that the key's `enum` never allows."""
    pins_by_side = _pins_by_side(rule)
    out: list[tuple[str, str, bool]] = []
    for remedy in rule.remedies:
        path = f"rules[{rule.index}].remedies[{remedy.index}]"
        for place, target, key, value in remedy_proposals(remedy, path):
            pins = _target_pins(target, remedy, pins_by_side)
            if pins is None:
                continue
            missing = _missing_key(rule, "config", key, pins, types)
            if missing is not None:
                said = missing[0].removesuffix(f": {NOTHING}")
                then = "remove nothing" if value is None else "be refused by its schema"
                out.append((place, f"{said}: this remedy's change would always {then}", missing[1]))
                continue
            never = _proposed_value_problem(rule, key, value, pins, types)
            if never is not None:
                out.append((place, *never))
    return out


def _target_pins(target, remedy, pins_by_side: dict | None) -> list | None:
    """The types the component a remedy's change names can be, per alternative (None: not known — a
    candidate value, an id built otherwise)."""
    first = target.parts[0] if target.parts else ""
    if isinstance(first, str):
        return [{first.split("/", 1)[0]}] if "/" in first else None
    if first == ("candidate", "id"):
        wanted = remedy.candidates.type if remedy.candidates is not None else None
        return [{wanted}] if wanted else None
    rest = target.parts[1] if len(target.parts) > 1 else ""
    typed = first[1] == ("type",) and isinstance(rest, str) and rest.startswith("/")
    side = SIDE.get(first[0]) if first in TARGET_IDS or typed else None
    return pins_by_side[side] if side and pins_by_side is not None else None


def _proposed_value_problem(rule, key: str, value, pins: list, types: dict) -> tuple[str, bool] | None:
    """(why, refused) when a remedy sets a key to a literal text the key's `enum` (in every type the
    component can be) never allows: refused when it misspells an allowed one (CLOSE), else a warning."""
    literal = isinstance(value, Template) and all(isinstance(p, str) for p in value.parts)
    text = "".join(value.parts) if literal else None
    allowed = _enum_of("config", key, pins, types) if text is not None else None
    if allowed is None or text in allowed:
        return None
    said = _never_allowed(rule, f"sets config key {key!r} to", text, allowed)
    return f"{said}: this remedy's change would always be refused by its schema", bool(_closest(text, allowed, CLOSE))


def _templates(rule):
    """(place, parts, whole) of each template of the rule: its message, then every string of its remedies
    (whole: the string is one placeholder, rendered as the value itself)."""
    yield f"rules[{rule.index}].message", rule.message, False
    for remedy in rule.remedies:
        for place, text in remedy_templates(remedy, f"rules[{rule.index}].remedies[{remedy.index}]"):
            yield place, text.parts, text.whole


def _unset(whole: bool) -> str:
    """What an absent key renders as: `<unset>` in text, null as a remedy's whole value."""
    return "be null" if whole else f"show {template.UNSET}"


class _Placeholder(NamedTuple):
    """A message placeholder as a field (section, path), for the key helpers a condition's test uses."""

    section: str
    path: tuple


def _missing_key(rule, kind: str, key: str, pins: list, types: dict) -> tuple[str, bool] | None:
    """Why the key is certainly absent in every alternative (None when it may be there), and whether that
    refuses the rule (a misspelling of a key those types have: CLOSE)."""
    every = _pinned_everywhere(pins, types)
    if every is None:
        return None
    for t in every:
        keys, closed = _keys_of(types[t], kind)
        if key in keys or not closed:
            return None
    valid = sorted(set().union(*(_keys_of(types[t], kind)[0] for t in every)))
    what = "config key" if kind == "config" else "runtime output"
    why = (
        f"rule {rule.id!r} names {what} {key!r}, which no {', '.join(sorted(every))} has{_nearest(key, valid)} "
        f"(the schema allows no other {what}: {', '.join(valid) or 'none'})"
    )
    if _closest(key, valid, CLOSE):
        return why, True
    return f"{why}: {NOTHING}", False


ENUM_OPS = ("eq", "in", "ne", "not_in")


def _enum_problems(rule, tree, types: dict, decides: bool = True) -> dict[int, list[tuple[str, bool]]]:
    """id(test) -> (why, refused), for each text a test compares a top-level config key or runtime output
    with that the schema's `enum` of every type the component can be (pinned in every alternative, as for
    keys) never allows: `runtime.state: runnign` on an ec2-instance (pending, running, …). A misspelling of
    an allowed value (CLOSE) is refused; an eq / in whose every value is far from all of them can never
    hold: the rule is inert (another deployment's values) — when the test is the rule's condition's, not a
    count's (`decides`), and is never negated; a far value beside allowed ones, or under ne / not_in or a
    `not`, is left alone (the test still means something)."""
    alts = alternatives(tree)
    if len(alts) >= MAX_ALTERNATIVES:
        return {}
    seen: dict[int, tuple[Cmp, tuple, list, set]] = {}
    for alt in alts:
        pinned = _pinned(alt)
        for cmp, neg in alt:
            target = _enum_target(cmp)
            if target is not None:
                entry = seen.setdefault(id(cmp), (cmp, target, [], set()))
                entry[2].append(pinned.get(target[0]))
                entry[3].add(neg)
    out: dict[int, list[tuple[str, bool]]] = {}
    for ident, (cmp, (_side, kind, key), pins, negs) in seen.items():
        allowed = _enum_of(kind, key, pins, types)
        if allowed is None:
            continue
        values = [v for v in _literals(cmp) if isinstance(v, str)]
        never = [v for v in values if v not in allowed]
        what = "config key" if kind == "config" else "runtime output"
        only = f"(it allows only {', '.join(sorted(allowed))})"
        close = [v for v in never if _closest(v, allowed, CLOSE)]
        for value in close:
            said = _never_allowed(rule, f"compares {what} {key!r} with", value, allowed)
            out.setdefault(ident, []).append((said, True))
        holds_never = decides and negs == {False} and cmp.op in ("eq", "in")
        if never and not close and len(never) == len(values) and holds_never:
            said = f"rule {rule.id!r} compares {what} {key!r} with {', '.join(map(repr, never))}, which its schema"
            out.setdefault(ident, []).append((f"{said} never allows {only}: this test can never hold", False))
    return out


def _never_allowed(rule, does: str, value: str, allowed: frozenset) -> str:
    """Why a text is not one the key's `enum` allows (`does`: what the rule does with it, naming the key):
    the nearest allowed ones, and all of them."""
    said = f"rule {rule.id!r} {does} {value!r}, which its schema never allows"
    return f"{said}{_nearest(value, allowed)} (it allows only {', '.join(sorted(allowed))})"


def _enum_target(cmp: Cmp) -> tuple[str, str, str] | None:
    """(side, config | runtime, key) when the test compares a top-level key with texts (eq, in, ne, not_in)."""
    if cmp.op not in ENUM_OPS or isinstance(cmp.value, FieldRef) or len(cmp.field.path) != 2:
        return None
    named = _field_key(cmp.field, [])  # the key a test names, as for the key check
    return named[0] if named else None


def _enum_of(kind: str, key: str, pins: list, types: dict) -> frozenset | None:
    """The texts the key may hold in every type the component can be (None: not certain — a type left
    open, unknown, or whose schema sets no enum of texts for the key)."""
    every = _pinned_everywhere(pins, types)
    if every is None:
        return None
    allowed: set = set()
    for t in every:
        values = (types[t].enums or {}).get((kind, key))
        if values is None:
            return None
        allowed |= values
    return frozenset(allowed)


def _pinned_everywhere(pins: list, types: dict) -> set | None:
    """The loaded types a component can be, when every alternative pins it to loaded types (None: in one
    it may be of any type, or of one refused as unknown — nothing about its keys is certain)."""
    every: set = set()
    for pinned in pins:
        if not pinned or any(t not in types for t in pinned):
            return None
        every |= pinned
    return every


def _keys_of(declared_type: DeclaredType, kind: str) -> tuple[frozenset, bool]:
    if kind == "config":
        return declared_type.config_keys, declared_type.closed
    return declared_type.runtime_outputs, declared_type.runtime_closed
