"""A rule's ``when``: the condition tree, parsed and checked against the fields and operators rules have.

``when`` holds sections (change, component, impacted, time, count) of field conditions, grouped with
all/any/not; a field condition is a scalar (eq), a list (in) or a mapping of operators. The parser turns
it into the tree of app.policy.tree (Cmp, All, AnyOf, Not), refusing — each problem named by its path —
an operator a field's type has no meaning for, a literal the engine would not hold as written
(app.policy.literals), a pattern durable_rules would read otherwise (app.policy.regex_dialect), and a
condition that could never hold. It also collects what compiling the rule needs: the fields it reads,
its counts, its CIDR overlaps (derived facts) and its patterns. Nothing here evaluates a condition.
"""

from __future__ import annotations

import hashlib

from app.policy.errors import Errors
from app.policy.fields import (
    ANY,
    BOOL,
    BOOLEAN_HINT,
    CONDITION_SECTIONS,
    INT,
    LIST,
    NAMES_ONLY,
    OBJECT,
    ROW_SECTIONS,
    STR,
    Field,
    resolve_field,
    zone_problem,
)
from app.policy.fields import suggest as _suggest
from app.policy.literals import (
    ID_RE,
    boolean_word_problem,
    canonical,
    cidr_block,
    distinct,
    is_number,
    is_scalar,
    number_problem,
    shown,
    text_number_hint,
    type_name,
    unquoted_number_problem,
)
from app.policy.regex_dialect import regex_problem
from app.policy.time_conditions import time_operand, time_operator_problem
from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not
from app.yaml_misreads import BooleanWord

GROUPS = ("all", "any", "not")
WHEN_KEYS = CONDITION_SECTIONS + ("time", "count") + GROUPS
COUNT_OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte")
# an operator beside a count rather than in it: the count's line indented less than its siblings
_COUNT_OP_ASTRAY = ": an operator on the count goes inside it; indent it as far as the count's other keys"
REF_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "overlaps")  # operators whose operand may be {field: ...}

# operator -> field types it applies to
OPERATORS: dict[str, tuple[str, ...]] = {
    "eq": (STR, INT, BOOL, ANY),
    "ne": (STR, INT, BOOL, ANY),
    "in": (STR, INT, ANY),
    "not_in": (STR, INT, ANY),
    "lt": (INT, ANY),
    "lte": (INT, ANY),
    "gt": (INT, ANY),
    "gte": (INT, ANY),
    "matches": (STR, ANY),
    "contains": (LIST, ANY),
    "contains_any": (LIST, ANY),
    "contains_all": (LIST, ANY),
    "exists": (STR, INT, BOOL, LIST, ANY, OBJECT),
    "empty": (STR, LIST, ANY, OBJECT),
    "overlaps": (STR, LIST, ANY),
    "between": (INT,),
}


class ConditionParser:
    """Parses one rule's ``when``, collecting what compiling it needs (fields, counts, overlaps, patterns)
    and whether it reads impacted (the rule is then evaluated once per impacted component)."""

    def __init__(self, errors: Errors, boolean_words: dict[str, BooleanWord] | None = None):
        self.errors = errors
        self.boolean_words = boolean_words or {}  # dotted path -> an unquoted yes/no/on/off read as a boolean
        self.uses_impacted = False
        self.fields: set[Field] = set()
        self.regexes: list[tuple[str, str]] = []  # (path, pattern) for the durable compile check
        self.domain: str | None = None  # the row section while parsing a count filter
        self.counts: dict = {}
        self.count_names: dict[str, str] = {}  # count name -> count key (for {count.<name>} placeholders)
        self.overlaps: dict = {}
        self.zones: set[str] = set()
        self.places: list[tuple[Cmp, str]] = []  # each comparison and its path (app.policy.vocabulary)

    # when: {change: {...}, component: {...}, impacted: {...}, all: [...], any: [...], not: {...}}
    def when(self, node, path: str, negated: bool, top: bool = False):
        if not isinstance(node, dict):
            self.errors.add(
                path, f"expected a mapping of sections (change, component, impacted), got {type_name(node)}"
            )
            return None
        if top and not node:
            self.errors.add(path, "must name at least one section: change, component or impacted")
            return None
        items = []
        for key, value in node.items():
            sub = f"{path}.{key}"
            if key in CONDITION_SECTIONS:
                if key == "impacted":
                    self.uses_impacted = True
                items.append(self.section(key, value, sub, negated))
            elif key == "time":
                items.append(self.time_section(value, sub, negated))
            elif key == "count":
                items.append(self.count(value, sub, negated))
            elif key in ("all", "any"):
                items.append(self.group(key, value, sub, negated, lambda n, p, neg: self.when(n, p, neg)))
            elif key == "not":
                items.append(self.negation(value, sub, negated, lambda n, p, neg: self.when(n, p, neg)))
            else:
                self.errors.add(
                    sub,
                    "unknown section (expected change, component, impacted, time, count, all, "
                    "any or not)"
                    + (_COUNT_OP_ASTRAY if key in COUNT_OPS and "count" in node else _suggest(key, WHEN_KEYS)),
                )
        return _all(items)

    def group(self, key: str, node, path: str, negated: bool, parse_item):
        if not isinstance(node, list) or not node:
            self.errors.add(path, f"expected a non-empty list, got {shown(node)}")
            return None
        items = [parse_item(item, f"{path}[{i}]", negated) for i, item in enumerate(node)]
        if any(i is None for i in items):
            return None
        return All(tuple(items)) if key == "all" else AnyOf(tuple(items))

    def negation(self, node, path: str, negated: bool, parse_item):
        """``not: {...}``. Over an empty condition (``not: {}``, ``not: {impacted: {}}``), which holds for
        everything, it holds for nothing: a rule that could never fire, or a count filter that counts
        nothing, is refused as `any: []` is (``not: {impacted: {}}`` reads as "reaches nothing", which it
        is not: the rule is evaluated once per impacted component)."""
        item = parse_item(node, path, not negated)
        if item is not None and _always(item):
            hint = ""
            if isinstance(node, dict) and "impacted" in node:
                hint = (
                    "; a rule naming impacted is evaluated once per impacted component, so this is not "
                    '"reaches nothing": that is count: {impacted: {}, eq: 0}'
                )
            self.errors.add(
                path,
                "not over an empty condition never holds (an empty condition holds for everything): "
                f"name the fields that must not hold{hint}",
            )
            return None
        return None if item is None else Not(item)

    # a section: {field: condition, all: [...], any: [...], not: {...}}; an empty section is "true"
    def section(self, section: str, node, path: str, negated: bool, resolve=None):
        resolve = resolve or (lambda key: resolve_field(section, key))
        if node is None:
            node = {}
        if not isinstance(node, dict):
            self.errors.add(path, f"expected a mapping of field conditions, got {type_name(node)}")
            return None
        items = []
        for key, value in node.items():
            sub = f"{path}.{key}"
            if key in ("all", "any"):
                items.append(
                    self.group(key, value, sub, negated, lambda n, p, neg: self.section(section, n, p, neg, resolve))
                )
            elif key == "not":
                items.append(
                    self.negation(value, sub, negated, lambda n, p, neg: self.section(section, n, p, neg, resolve))
                )
            else:
                fld, reason = resolve(key) if isinstance(key, str) else (None, "unknown field")
                if fld is None:
                    self.errors.add(sub, reason)
                    items.append(None)
                    continue
                items.append(self.condition(fld, value, sub, negated))
        return _all(items)

    # a condition: a scalar (eq), a list (in) or a mapping of operators (ANDed)
    def condition(self, fld: Field, node, path: str, negated: bool):
        if not isinstance(node, dict):
            if node is None:
                self.errors.add(path, "null is not a value to compare with (use {exists: false})")
                return None
            if fld.ftype == LIST:
                self.errors.add(
                    path, "a list field needs an operator: contains, contains_any, contains_all, empty or exists"
                )
                return None
            if fld.ftype == OBJECT:
                self.errors.add(
                    path, f"{fld.name} is an object; use exists or empty (or a sub-field such as {fld.name}.some_key)"
                )
                return None
            node = {"in": node} if isinstance(node, list) else {"eq": node}
            implicit = True
        else:
            implicit = False
            if not node:
                self.errors.add(path, "expected at least one operator")
                return None
        items = []
        for op, value in node.items():
            sub = path if implicit else f"{path}.{op}"
            if op not in OPERATORS and fld.ftype == OBJECT and isinstance(op, str):
                # `new: {instance_type: {in: […]}}` nests a key under an object field: say how to name it
                dotted = ".".join(fld.path)
                self.errors.add(sub, f"{op!r} is no operator; a key of {fld.name} is a dotted field: {dotted}.{op}: …")
                items.append(None)
                continue
            if op not in OPERATORS:
                self.errors.add(
                    sub, f"unknown operator {op!r} (expected one of {', '.join(OPERATORS)})" + _suggest(op, OPERATORS)
                )
                items.append(None)
                continue
            problem = self._applies(fld, op)
            if problem:
                self.errors.add(sub, problem)
                items.append(None)
                continue
            item = self.operand(fld, op, value, sub, negated)
            if isinstance(item, Cmp):
                self.places.append((item, sub))  # where it was written: what a refusal of its value names
            items.append(item)
        self.fields.add(fld)
        return _all(items)

    @staticmethod
    def _applies(fld: Field, op: str) -> str | None:
        if fld.section == "time":
            return time_operator_problem(fld, op)
        if op == "between":
            return "between applies to time fields only (time: {zone: ..., hour: {between: [9, 17]}})"
        if fld.ftype not in OPERATORS[op]:
            return f"operator {op} does not apply to {fld.name} ({_a(fld.ftype)} field)"
        if op == "overlaps" and fld.name in NAMES_ONLY:
            return _never_blocks(fld)
        return None

    # ------------------------------------------------------------------ time: {zone: ..., weekday: ...}
    def time_section(self, node, path: str, negated: bool):
        if not isinstance(node, dict):
            self.errors.add(path, f"expected a mapping with zone and time conditions, got {type_name(node)}")
            return None
        if "zone" not in node:
            self.errors.add(
                f"{path}.zone", "missing (required: the IANA time zone the conditions are in, e.g. Europe/Paris or UTC)"
            )
            return None
        zone = node["zone"]
        problem = zone_problem(zone)
        if problem:
            self.errors.add(f"{path}.zone", problem)
            return None
        rest = {k: v for k, v in node.items() if k != "zone"}
        if not rest:
            self.errors.add(
                path, "expected at least one time condition (weekday, hour, minute, clock, date, month_day)"
            )
            return None
        return self.section("time", rest, path, negated, lambda key: resolve_field("time", f"{zone}.{key}"))

    # ------------------------------------------------------------------ count: {impacted: {...}, gt: 3}
    def count(self, node, path: str, negated: bool):
        if not isinstance(node, dict):
            self.errors.add(
                path,
                f"expected a mapping (impacted or siblings: a filter, and operators on the "
                f"count), got {type_name(node)}",
            )
            return None
        if self.domain is not None:
            self.errors.add(path, "count cannot be nested in a count filter")
            return None
        domains = [k for k in node if k in ROW_SECTIONS]
        if len(domains) != 1:
            self.errors.add(path, "expected exactly one of impacted or siblings (what to count)")
            return None
        domain = domains[0]
        ops = {k: v for k, v in node.items() if k not in ROW_SECTIONS and k != "name"}
        for key in ops:
            if key not in COUNT_OPS:
                self.errors.add(
                    f"{path}.{key}",
                    f"unknown key (expected name, impacted or siblings, and "
                    f"operators {', '.join(COUNT_OPS)})" + _suggest(key, COUNT_OPS),
                )
        if not ops:
            self.errors.add(path, f"expected an operator on the count ({', '.join(COUNT_OPS)}), e.g. gt: 3")
            return None
        if any(key not in COUNT_OPS for key in ops):
            return None
        self.domain = domain
        try:
            tree = self.section(domain, node[domain], f"{path}.{domain}", False)
        finally:
            self.domain = None
        if tree is None:
            return None
        key = "n" + hashlib.sha256(f"{domain}|{tree!r}".encode()).hexdigest()[:12]
        self.counts[key] = (domain, tree)
        name = node.get("name")
        if "name" in node:
            if not isinstance(name, str) or not ID_RE.match(name) or "-" in name:
                self.errors.add(f"{path}.name", f"expected a name of lowercase letters, digits and '_', got {name!r}")
                return None
            if self.count_names.get(name, key) != key:
                self.errors.add(f"{path}.name", f"{name!r} already names another count in this rule")
                return None
            self.count_names[name] = key
        return self.condition(Field("count", (key, "n"), INT), ops, path, negated)

    # ------------------------------------------------------------------ operands
    def reference(self, fld: Field, op: str, value: dict, path: str):
        """``{field: change.new.vpc_nickname}``: compare with another fact field instead of a literal."""
        if set(value) != {"field"} or not isinstance(value["field"], str):
            self.errors.add(path, "expected a value, or {field: <section.field>} to compare with another field")
            return None
        name = value["field"]
        section, _, rest = name.partition(".")
        allowed = ("change", "component", self.domain) if self.domain else CONDITION_SECTIONS
        if section not in allowed or not rest:
            self.errors.add(
                f"{path}.field",
                f"unknown field {name!r} (expected {', '.join(allowed)} fields, e.g. change.new.vpc_nickname)",
            )
            return None
        other, reason = resolve_field(section, rest)
        if other is None:
            self.errors.add(f"{path}.field", f"{name}: {reason}")
            return None
        wanted = {
            "overlaps": (STR, LIST, ANY),
            "lt": (INT, ANY),
            "lte": (INT, ANY),
            "gt": (INT, ANY),
            "gte": (INT, ANY),
        }.get(op, (STR, INT, BOOL, ANY))
        if other.ftype not in wanted or (op in ("eq", "ne") and not _may_equal(fld.ftype, other.ftype)):
            never = ""
            if op in ("eq", "ne") and {fld.ftype, other.ftype} <= {STR, INT, BOOL}:
                never = f": types never mix, so it would {'never' if op == 'eq' else 'always'} hold"
            self.errors.add(
                f"{path}.field",
                f"{op} cannot compare {fld.name} ({_a(fld.ftype)} field) with {name} ({_a(other.ftype)} field)" + never,
            )
            return None
        if op == "overlaps" and other.name in NAMES_ONLY:
            self.errors.add(f"{path}.field", _never_blocks(other))
            return None
        if section == "impacted" and self.domain is None:
            self.uses_impacted = True
        self.fields.add(other)
        if op == "overlaps":
            return self._overlaps(Cmp(fld, op, FieldRef(other)))
        return Cmp(fld, op, FieldRef(other))

    def overlaps_operand(self, fld: Field, value, path: str):
        values = value if isinstance(value, list) else [value]
        if not values:
            self.errors.add(path, "expected a CIDR block, a non-empty list of them, or {field: ...}")
            return None
        blocks = []
        for i, item in enumerate(values):
            sub = f"{path}[{i}]" if isinstance(value, list) else path
            block, problem = cidr_block(item)
            if problem:
                self.errors.add(sub, problem)
            blocks.append(block)
        if None in blocks:
            return None
        return self._overlaps(Cmp(fld, "overlaps", tuple(blocks)))

    def _overlaps(self, cmp: Cmp):
        """In a count filter overlaps is evaluated with it; elsewhere it becomes a derived boolean fact."""
        if self.domain is not None:
            return cmp
        key = "o" + hashlib.sha256(repr(cmp).encode()).hexdigest()[:12]
        self.overlaps[key] = cmp
        return Cmp(Field("derived", (key,), BOOL), "eq", True)

    def _scalar(self, fld: Field, value, path: str) -> bool:
        want = {STR: str, INT: "number", BOOL: bool}.get(fld.ftype)
        if value is None:
            self.errors.add(path, "null is not a value to compare with (use exists: false)")
            return False
        if not is_scalar(value):
            self.errors.add(path, f"expected a string, number or boolean, got {type_name(value)}")
            return False
        if unquoted := unquoted_number_problem(fld, value):
            self.errors.add(path, unquoted)
            return False
        if problem := boolean_word_problem(fld, value, self.boolean_words.get(path)):
            self.errors.add(path, problem)
            return False
        ok = (
            want is None
            or (want == "number" and is_number(value))
            or (want is str and isinstance(value, str))
            or (want is bool and isinstance(value, bool))
        )
        if ok and (problem := number_problem(value)):
            self.errors.add(path, problem)
            return False
        if not ok:
            wanted = "a number" if want == "number" else _a(fld.ftype)
            hint = ""
            if fld.ftype == STR and isinstance(value, bool):
                hint = BOOLEAN_HINT
            self.errors.add(path, f"expected {wanted} for {fld.name}, got {type_name(value)}{hint}")
            return False
        return True

    def _scalars(self, fld: Field, value, path: str):
        if not isinstance(value, list) or not value:
            self.errors.add(path, f"expected a non-empty list, got {shown(value)}")
            return None
        ok = True
        for i, item in enumerate(value):
            ok = (
                self._scalar(fld if fld.ftype != LIST else Field(fld.section, fld.path, STR), item, f"{path}[{i}]")
                and ok
            )
        return distinct(canonical(v) for v in value) if ok else None

    def operand(self, fld: Field, op: str, value, path: str, negated: bool):
        if fld.section == "time":
            return time_operand(fld, op, value, path, self.errors)
        if isinstance(value, dict) and op in REF_OPS:
            return self.reference(fld, op, value, path)
        if op == "overlaps":
            return self.overlaps_operand(fld, value, path)
        if op in ("eq", "ne"):
            return Cmp(fld, op, canonical(value)) if self._scalar(fld, value, path) else None
        if op in ("in", "not_in"):
            values = self._scalars(fld, value, path)
            return None if values is None else Cmp(fld, op, values)
        if op in ("lt", "lte", "gt", "gte"):
            if not is_number(value):
                self.errors.add(path, f"expected a number, got {type_name(value)}{text_number_hint(value)}")
                return None
            if problem := number_problem(value):
                self.errors.add(path, problem)
                return None
            return Cmp(fld, op, value)
        if op == "matches":
            if not isinstance(value, str):
                self.errors.add(path, f"expected a pattern string, got {type_name(value)}")
                return None
            if negated and self.domain is None:
                self.errors.add(
                    path,
                    "matches cannot be used under not (durable_rules has no negated pattern "
                    "operator); match the values you want instead",
                )
                return None
            problem = regex_problem(value)
            if problem:
                self.errors.add(path, problem)
                return None
            self.regexes.append((path, value))
            return Cmp(fld, op, value)
        if op == "contains":
            scalar_field = Field(fld.section, fld.path, STR) if fld.ftype == LIST else fld
            return Cmp(fld, op, canonical(value)) if self._scalar(scalar_field, value, path) else None
        if op in ("contains_any", "contains_all"):
            values = self._scalars(fld, value, path)
            return None if values is None else Cmp(fld, op, values)
        # exists / empty
        if not isinstance(value, bool):
            self.errors.add(path, f"expected true or false, got {type_name(value)}")
            return None
        return Cmp(fld, op, value)


def _may_equal(ftype: str, other: str) -> bool:
    """Whether a value of a field of type `ftype` may equal one of type `other` (``eq``/``ne`` by reference):
    both scalars, and of one type unless one is open — types never mix, so a string field never equals an
    integer field's value and ``eq`` between them would never hold (``ne`` always)."""
    scalars = (STR, INT, BOOL, ANY)
    return ftype in scalars and other in scalars and (ANY in (ftype, other) or ftype == other)


def _never_blocks(fld: Field) -> str:
    """Why `overlaps` on (or against) a field whose values are names never holds (fields.NAMES_ONLY)."""
    return (
        f"overlaps compares CIDR blocks, and {fld.name} holds {NAMES_ONLY[fld.name]}, never a CIDR block: it "
        "would never hold (compare a config, runtime, old or new key that holds blocks, e.g. "
        "change.new.cidr_block)"
    )


def _always(node) -> bool:
    """Whether a condition holds for everything (built of empty sections only: ``{}``, ``any: [{}]``)."""
    if isinstance(node, All):
        return all(_always(item) for item in node.items)
    if isinstance(node, AnyOf):
        return any(_always(item) for item in node.items)
    return False


def _all(items):
    if any(i is None for i in items):
        return None
    flat = []
    for item in items:
        if isinstance(item, All):
            flat.extend(item.items)
        else:
            flat.append(item)
    return flat[0] if len(flat) == 1 else All(tuple(flat))


def _a(word: str) -> str:
    """`a string field`, `an any field`: a field type with its article (messages said "a any field")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
