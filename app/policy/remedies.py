"""How a refusal can be lifted, read from the rule itself (issue 13, POST /transitions).

Derived: what a rule's condition says would lift it, read from the parsed condition tree (Rule.when:
Cmp / All / AnyOf / Not over Field(section, path)) — the impacted component's runtime outputs the
condition tests. Negating every runtime test of the condition is enough to make it false when the tests
are not under a `not` (an `All` fails when one member fails, an `AnyOf` when all do); a test under `not`
is not derived.

Declared: a rule's `remedies:` (below), change sets templated from the same facts as its message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.policy import template
from app.policy.fields import BOOLEAN_HINT
from app.policy.tree import All, AnyOf, Cmp, Not
from app.settings import TRANSITION_BOUNDS

# the marker a derived wait stores: defined beside the steps it marks, so the CLI reads it without the engine
from app.transitions.status import NON_EMPTY


@dataclass(frozen=True)
class RuntimeTest:
    output: str  # the runtime output, e.g. "state"
    op: str  # in | eq | ne | not_in | empty | exists ...
    value: object


def runtime_tests(when) -> list[RuntimeTest] | None:
    """The impacted runtime tests of a condition; None when one is negated (nothing safe to derive)."""
    found: list[RuntimeTest] = []

    def walk(node, negated: bool) -> bool:
        if isinstance(node, Cmp):
            fld = node.field
            if fld.section == "impacted" and fld.path[:1] == ("runtime",) and len(fld.path) == 2:
                if negated:
                    return False
                found.append(RuntimeTest(fld.path[1], node.op, node.value))
            return True
        if isinstance(node, (All, AnyOf)):
            return all(walk(item, negated) for item in node.items)
        if isinstance(node, Not):
            return walk(node.item, not negated)
        return True

    return found if walk(when, False) else None


def wait_tests(rule) -> list[RuntimeTest]:
    """The runtime tests a wait could make false: an impacted-scope rule's, none negated (else none) —
    what a derived wait (POST /transitions) negates."""
    return (runtime_tests(rule.when) or []) if rule.scope == "impacted" else []


def liftable(rule) -> bool:
    """Whether any transition step could lift the rule's refusal: a change it declares (`remedies:`) or a
    wait on the impacted runtime values it tests. Read once at load (Rule.liftable): each decision says
    it, so a client offers the search (POST /transitions) only where one can exist — a rule with neither
    (prod-change-needs-reason: the change lacks a reason) is lifted by what its message says, not a step."""
    return rule.effect != "warn" and bool(rule.remedies or wait_tests(rule))


def negation(test: RuntimeTest, choices: list[str] | None) -> object | None:
    """A value of the output that makes the test false: the first declared choice outside an `in`/`eq`
    (e.g. ec2 `stopped`), NON_EMPTY for an `empty` test; None when no value can be named."""
    values = test.value if isinstance(test.value, (tuple, list)) else (test.value,)
    if test.op in ("in", "eq") and choices:
        return next((c for c in choices if c not in values), None)
    if test.op in ("not_in", "ne") and values and values[0] is not None:
        return values[0]
    if test.op == "empty" and test.value is True:
        return NON_EMPTY
    if test.op == "exists" and test.value is False:
        return NON_EMPTY
    return None


# ------------------------------------------------------------------------------------ declared remedies
# A rule may say, in its file, what would make a refused change valid (`remedies:`, docs/rules.md):
# change sets templated from the facts that triggered the decision (the same placeholders as its message),
# optionally once per candidate value (`{candidate}`): a list of values, or the components of a type in an
# environment. Validated strictly on load; rendered only when POST /transitions looks for a way out.

REMEDY_KEYS = ("description", "changes", "candidates")
CANDIDATE_KEYS = ("values", "type", "environment", "exclude", "limit")
CANDIDATE_PLACEHOLDERS = ("candidate", "candidate.id", "candidate.nickname")
MAX_REMEDIES = 5  # per rule
MAX_REMEDY_CHANGES = 10  # operations per remedy
# candidate values a remedy may name (`limit`): the cap of KARMA_TRANSITION_MAX_CANDIDATES, which bounds
# what a search renders of each (a remedy without `limit` renders that many)
MAX_CANDIDATES = TRANSITION_BOUNDS["max_candidates"][3]
# the fields each operation of a remedy takes (as the API's change set body: app/api/schemas.OP_FIELDS)
REMEDY_OPS = {
    "create": ("environment", "config"),
    "update": ("proposed_change",),
    "delete": (),
    "add_edge": ("target", "kind"),
    "remove_edge": ("target", "kind"),
}


@dataclass(frozen=True)
class Template:
    """A string of a remedy: literal text and placeholders (template parts, plus ("candidate", key))."""

    parts: tuple
    whole: bool  # the string is one placeholder: it renders as the value itself (null, a list…)


@dataclass(frozen=True)
class CandidateSource:
    values: tuple | None  # literal values (templates)
    type: str | None  # or: the components of this type…
    environment: Template | None  # …in this environment (default: the decision's component's)
    exclude: tuple  # values (nicknames or ids) to leave out (templates)
    limit: int | None  # None: as many as the search's bound (KARMA_TRANSITION_MAX_CANDIDATES)


@dataclass(frozen=True)
class Remedy:
    index: int
    description: Template
    changes: tuple  # operation mappings whose strings are Templates
    candidates: CandidateSource | None


def _text(value: str, path: str, scope: str, counts: dict, with_candidate: bool, errors) -> Template | None:
    parts, problems = [], []
    for piece in re.split(r"(\{\{|\}\}|\{[^{}]*\})", value):
        name = (
            piece[1:-1].strip() if piece.startswith("{") and piece.endswith("}") and piece not in ("{{", "}}") else None
        )
        if name is not None and name.split(".")[0] == "candidate":
            if name not in CANDIDATE_PLACEHOLDERS:
                problems.append(f"unknown placeholder {{{name}}} (expected {', '.join(CANDIDATE_PLACEHOLDERS)})")
            elif not with_candidate:
                problems.append(f"placeholder {{{name}}} needs candidates in this remedy")
            else:
                parts.append(("candidate", name.partition(".")[2] or "value"))
            continue
        if piece:
            found, issues = template.parse(piece, scope, counts)
            parts.extend(found)
            problems.extend(issues)
    for problem in problems:
        errors.add(path, problem)
    if problems:
        return None
    return Template(tuple(parts), len(parts) == 1 and not isinstance(parts[0], str))


def _tree(node, path: str, scope: str, counts: dict, with_candidate: bool, errors):
    """A remedy's value with every string a Template (keys stay literal)."""
    if isinstance(node, str):
        return _text(node, path, scope, counts, with_candidate, errors)
    if isinstance(node, dict):
        return {k: _tree(v, f"{path}.{k}", scope, counts, with_candidate, errors) for k, v in node.items()}
    if isinstance(node, list):
        return [_tree(v, f"{path}[{i}]", scope, counts, with_candidate, errors) for i, v in enumerate(node)]
    return node


def _operation(raw, path: str, scope: str, counts: dict, with_candidate: bool, errors):
    if not isinstance(raw, dict):
        errors.add(path, f"expected an operation mapping (op, component, …), got {type(raw).__name__}")
        return None
    op = raw.get("op")
    if op not in REMEDY_OPS:
        errors.add(f"{path}.op", f"unknown op {op!r} (expected one of {', '.join(REMEDY_OPS)})")
        return None
    allowed = ("op", "component") + REMEDY_OPS[op]
    ok = True
    for key in raw:
        if key not in allowed:
            errors.add(f"{path}.{key}", f"unknown field for op {op} (expected {', '.join(allowed)})")
            ok = False
    for key in ("component",) + REMEDY_OPS[op]:
        if key not in raw:
            errors.add(f"{path}.{key}", f"missing (required for op {op})")
            ok = False
    for key in ("config", "proposed_change"):
        if key in raw and not isinstance(raw[key], dict):
            errors.add(f"{path}.{key}", "expected a mapping")
            ok = False
    if not ok:
        return None
    before = len(errors.items)
    tree = _tree(raw, path, scope, counts, with_candidate, errors)
    return tree if len(errors.items) == before else None


def _candidates(raw, path: str, scope: str, counts: dict, errors) -> CandidateSource | None:
    if not isinstance(raw, dict):
        errors.add(path, "expected a mapping: values (a list), or type (+ environment, exclude)")
        return None
    before = len(errors.items)
    for key in raw:
        if key not in CANDIDATE_KEYS:
            errors.add(f"{path}.{key}", f"unknown field (expected one of {', '.join(CANDIDATE_KEYS)})")
    if ("values" in raw) == ("type" in raw):
        errors.add(path, "expected exactly one of values (a list) or type (components of a type)")
    values = raw.get("values")
    if "values" in raw and (not isinstance(values, list) or not values):
        errors.add(f"{path}.values", "expected a non-empty list")
    if "type" in raw and (not isinstance(raw["type"], str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", raw["type"])):
        errors.add(f"{path}.type", "expected a component type name")
    if "values" in raw and "environment" in raw:
        errors.add(f"{path}.environment", "only with type")
    exclude = raw.get("exclude", [])
    if not isinstance(exclude, list):
        errors.add(f"{path}.exclude", "expected a list")
        exclude = []
    limit = raw.get("limit")
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_CANDIDATES
    ):
        errors.add(f"{path}.limit", f"expected an integer from 1 to {MAX_CANDIDATES}")
    if len(errors.items) > before:
        return None

    def text(value, where):
        return (
            _text(value, where, scope, counts, False, errors)
            if isinstance(value, str)
            else errors.add(
                where, "expected a string" + (f", got boolean{BOOLEAN_HINT}" if isinstance(value, bool) else "")
            )
        )

    parsed_values = tuple(text(v, f"{path}.values[{i}]") for i, v in enumerate(values or [])) if values else None
    environment = text(raw["environment"], f"{path}.environment") if "environment" in raw else None
    parsed_exclude = tuple(text(v, f"{path}.exclude[{i}]") for i, v in enumerate(exclude))
    if len(errors.items) > before:
        return None
    return CandidateSource(parsed_values, raw.get("type"), environment, parsed_exclude, limit)


def parse_remedies(raw, path: str, scope: str, counts: dict, errors) -> tuple[Remedy, ...] | None:
    """A rule's `remedies:` (a list) → Remedies, or None with every problem added as `<file>: <path>: …`."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_REMEDIES:
        errors.add(path, f"expected a list of 1 to {MAX_REMEDIES} remedies")
        return None
    before, out = len(errors.items), []
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            errors.add(where, "expected a mapping (description, changes, candidates)")
            continue
        for key in item:
            if key not in REMEDY_KEYS:
                errors.add(f"{where}.{key}", f"unknown field (expected one of {', '.join(REMEDY_KEYS)})")
        for key in ("description", "changes"):
            if key not in item:
                errors.add(f"{where}.{key}", "missing (required)")
        candidates = (
            _candidates(item["candidates"], f"{where}.candidates", scope, counts, errors)
            if "candidates" in item
            else None
        )
        with_candidate = "candidates" in item
        description = item.get("description")
        if "description" in item and (not isinstance(description, str) or not description.strip()):
            errors.add(f"{where}.description", "expected a non-empty string")
            description = None
        text = (
            _text(description, f"{where}.description", scope, counts, with_candidate, errors)
            if isinstance(description, str)
            else None
        )
        changes = item.get("changes")
        if "changes" in item and (not isinstance(changes, list) or not 1 <= len(changes) <= MAX_REMEDY_CHANGES):
            errors.add(f"{where}.changes", f"expected a list of 1 to {MAX_REMEDY_CHANGES} operations")
            changes = None
        ops = [
            _operation(op, f"{where}.changes[{j}]", scope, counts, with_candidate, errors)
            for j, op in enumerate(changes or [])
        ]
        if text is not None and changes and None not in ops:
            out.append(Remedy(i, text, tuple(ops), candidates))
    return tuple(out) if len(errors.items) == before else None


def templates(remedy: Remedy, path: str):
    """(place in the file, Template) for every string of a remedy, named as parse_remedies names its
    problems (`rules[0].remedies[1].changes[0].proposed_change.versioning`): what the check of the keys
    its placeholders name reports (app.policy.vocabulary, as for the message's)."""
    yield f"{path}.description", remedy.description
    for j, op in enumerate(remedy.changes):
        yield from _placed(op, f"{path}.changes[{j}]")
    source = remedy.candidates
    if source is not None:
        yield from _placed(list(source.values or ()), f"{path}.candidates.values")
        yield from _placed(source.environment, f"{path}.candidates.environment")
        yield from _placed(list(source.exclude), f"{path}.candidates.exclude")


# the field of an operation that holds the config keys it sets (as in the API's change set body)
CONFIG_FIELDS = {"create": "config", "update": "proposed_change"}


def proposals(remedy: Remedy, path: str):
    """(place in the file, the changed component's Template, key, value) for each config key a remedy's
    changes set (`rules[0].remedies[0].changes[0].proposed_change.versioning`): what the check of the keys
    the component's type can hold reports (app.policy.vocabulary, as for a condition's)."""
    for j, op in enumerate(remedy.changes):
        field = CONFIG_FIELDS.get("".join(op["op"].parts))
        for key, value in (op.get(field) or {}).items() if field else ():
            yield f"{path}.changes[{j}].{field}.{key}", op["component"], key, value


def _placed(node, path: str):
    if isinstance(node, Template):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _placed(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _placed(value, f"{path}[{i}]")


# ------------------------------------------------------------------------------------ rendering
def render_value(node, fact: dict, candidate: dict | None):
    """A remedy's value with its templates filled in from `fact` (and the candidate)."""
    if isinstance(node, Template):
        if node.whole:
            return _part_value(node.parts[0], fact, candidate)
        return "".join(p if isinstance(p, str) else template.show(_part_value(p, fact, candidate)) for p in node.parts)
    if isinstance(node, dict):
        return {k: render_value(v, fact, candidate) for k, v in node.items()}
    if isinstance(node, list):
        return [render_value(v, fact, candidate) for v in node]
    return node


def _part_value(part, fact: dict, candidate: dict | None):
    if part[0] == "candidate":
        return (candidate or {}).get(part[1])
    return template.lookup(fact, part[0], part[1])


@dataclass(frozen=True)
class RenderedRemedy:
    rule_id: str
    index: int
    description: str
    changes: list  # operation dicts, ready for ChangeSet.from_dict
    candidate: object  # the candidate value, or None


def expand(rule_id: str, remedy: Remedy, fact: dict, components_of, max_candidates: int) -> list[RenderedRemedy]:
    """Every rendering of a remedy for one decision's fact: one per candidate (at most its `limit` and
    the search's `max_candidates`, in a stable order), or one when it has no candidates.
    `components_of(type, environment)` lists {id, nickname} of the components of a type in an
    environment (ordered by id)."""
    source = remedy.candidates
    if source is None:
        candidates = [None]
    else:
        excluded = {render_value(t, fact, None) for t in source.exclude}
        if source.values is not None:
            raw = [{"value": render_value(t, fact, None)} for t in source.values]
        else:
            env = (
                render_value(source.environment, fact, None)
                if source.environment
                else (fact.get("impacted") or fact.get("component") or {}).get("environment")
            )
            raw = [
                {"value": c["nickname"], "id": c["id"], "nickname": c["nickname"]}
                for c in components_of(source.type, env)
            ]
        most = min(source.limit or max_candidates, max_candidates)
        candidates = [c for c in raw if c["value"] not in excluded and c.get("id") not in excluded][:most]
    return [
        RenderedRemedy(
            rule_id,
            remedy.index,
            render_value(remedy.description, fact, c),
            [render_value(op, fact, c) for op in remedy.changes],
            None if c is None else c["value"],
        )
        for c in candidates
    ]
