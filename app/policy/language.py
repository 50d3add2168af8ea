"""The rule-file language: operators, the condition tree and strict validation (fields: app.policy.fields).

A rule file is YAML holding ``rules:`` (a list). Validation turns each rule into a :class:`Rule` whose
``when`` is a small condition tree (:class:`Cmp`, :class:`All`, :class:`AnyOf`, :class:`Not`). Every
problem is reported as ``<file>: <field path>: <what is wrong>`` (e.g.
``rules/subnets.yaml: rules[0].when.impacted.typ: unknown field (did you mean 'type'?)``), and all
problems of all files are collected, not just the first.

Nothing here evaluates a condition: :mod:`app.policy.compiler` turns the tree into a durable_rules
ruleset and the engine evaluates it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math
import re
import sys

from app.policy import remedies as remedy_language
from app.policy import template
from app.policy.fields import (
    ANY,
    BOOLEAN_HINT,
    BOOL,
    CONDITION_SECTIONS,
    INT,
    LIST,
    OBJECT,
    ROW_SECTIONS,
    STR,
    Field,
    resolve_field,
    zone_problem,
)
from app.policy.fields import suggest as _suggest
from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not, Rule
from app.yaml_misreads import BooleanWord

EFFECTS = ("reject", "block", "require_approval", "warn")
SEVERITY = {"reject": 0, "block": 1, "require_approval": 2, "warn": 3}
APPROVER_ROLES = ("approver", "admin")
GROUPS = ("all", "any", "not")
WHEN_KEYS = CONDITION_SECTIONS + ("time", "count") + GROUPS
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME_OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte", "between")
COUNT_OPS = ("eq", "ne", "in", "not_in", "lt", "lte", "gt", "gte")
REF_OPS = ("eq", "ne", "lt", "lte", "gt", "gte", "overlaps")  # operators whose operand may be {field: ...}
CYCLIC = ("hour", "minute", "clock", "month_day")  # between: [from, to] with from > to wraps around


def listing_order(rule: Rule) -> tuple:
    """The order rules are listed in (`karma rules list`, the console's Rules page): the most severe
    effect first, then by id."""
    return SEVERITY[rule.effect], rule.id


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

RULE_KEYS = ("id", "description", "effect", "when", "message", "enabled", "approver_role", "remedies")
REQUIRED_RULE_KEYS = ("id", "description", "effect", "when", "message")
ID_RE = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
MAX_ID_LENGTH = 100


class RuleFileError(Exception):
    """One or more rule files are broken. ``errors`` lists every problem as ``file: field: message``."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        if len(self.errors) == 1:
            text = self.errors[0]
        else:
            text = f"{len(self.errors)} errors in rule files:\n  " + "\n  ".join(self.errors)
        super().__init__(text)


class PolicyEvaluationError(RuntimeError):
    """durable_rules failed while evaluating facts (the caller must not treat this as 'allowed')."""


# ----------------------------------------------------------------------------------------------- helpers
def type_name(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number" if math.isfinite(value) else f"{value} (not a finite number)"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


class UnquotedText(str):
    """A plain (unquoted) YAML scalar that looks like a number but that YAML 1.1 (PyYAML) reads as text:
    ``1e5``, ``1.0e19``, ``-1e-5``, ``.5e3``, ``0o17``, ``019``. The rule loader marks them
    (app.policy.loader) so that a comparison with a field that may hold numbers is refused instead of
    silently comparing text. (The forms YAML 1.1 does read as numbers, but not as written — ``017``,
    ``1:30`` — are refused wherever they stand: app.yaml_misreads.)"""


# YAML 1.1 reads a float only with a '.' and a signed exponent (1.0e+5), octal as 017 (so a leading zero
# before an 8 or 9 is no number at all), and no 0o: these read as text, though JSON, YAML 1.2 or Python
# read them as numbers.
_LEADING_ZERO_DECIMAL = re.compile(r"^[-+]?0[0-9_]*[89][0-9_]*$")
_NUMBER_LIKE_TEXT = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$|^0o[0-7]+$|" + _LEADING_ZERO_DECIMAL.pattern
)


def number_like_text(text: str) -> bool:
    return bool(_NUMBER_LIKE_TEXT.match(text))


def _text_number(text: str) -> int | float:
    """The number a number-looking text (number_like_text) means."""
    if text.startswith("0o"):
        return int(text, 8)
    if _LEADING_ZERO_DECIMAL.match(text):
        return int(text.replace("_", ""))
    return float(text.replace("_", ""))


def yaml_number(text: str) -> str:
    """How to write the number ``text`` looks like so that YAML reads a number: ``1e5`` -> ``1.0e+5``
    (or ``100000``), ``0o17`` -> ``15``, ``019`` -> ``19``."""
    if text.startswith("0o") or _LEADING_ZERO_DECIMAL.match(text):
        return str(_text_number(text))
    mantissa, exponent = re.split("[eE]", text.replace("_", ""))
    sign = mantissa[0] if mantissa[0] in "+-" else ""
    digits = mantissa.lstrip("+-")
    digits = "0" + digits if digits.startswith(".") else digits
    digits = digits if "." in digits else digits + ".0"
    exponent = exponent if exponent[0] in "+-" else "+" + exponent
    written = f"{sign}{digits}e{exponent}"
    number = _text_number(text)
    if number.is_integer() and abs(number) < 2**63:
        written += f" or {int(number)}"
    return written


def _text_number_hint(value) -> str:
    """For a number operator given text: the text, and how to write it as a number when YAML read it so."""
    if isinstance(value, str) and number_like_text(value):
        return f" {value!r} (YAML reads it as text: write {yaml_number(value)} to mean a number)"
    return ""


def _unquoted_number_problem(fld: Field, value) -> str | None:
    """Why an unquoted number-looking text cannot be compared with this field: YAML read it as text, so
    the rule would compare strings and a number never equals it. Only a field known to hold strings may
    take it (its text is then what the author meant)."""
    if not isinstance(value, UnquotedText) or fld.ftype == STR:
        return None
    read = f"YAML reads {value} (unquoted) as the text {str(value)!r}, not a number"
    write = f"write {yaml_number(value)} to mean the number"
    if not -(2**63) < _text_number(value) < 2**63:
        write += " (though that is beyond the engine's number range, (-2^63, 2^63))"
    if fld.ftype == INT:
        return f"{read} ({fld.name} holds numbers): {write}"
    return (
        f"{read}, so {fld.name} would be compared with a string and a number never equals it: {write}, "
        f"or quote it ('{value}') to mean the text"
    )


def _boolean_word_problem(fld: Field, value, word: BooleanWord | None) -> str | None:
    """Why an unquoted yes/no/on/off cannot be compared with this field: YAML 1.1 read it as a boolean,
    but a config or runtime value may as well be the word (`mode: on`), which would then never equal it —
    as ambiguous as an unquoted 017. A boolean field takes it (a boolean is its only meaning); a string
    field refuses a boolean anyway (with the same advice)."""
    if word is None or not isinstance(value, bool) or fld.ftype in (BOOL, STR):
        return None
    return word.problem(f"so {fld.name} would be compared with a boolean and the text {word.text!r} never equals it")


def _remedy_boolean_words(prefix: str, boolean_words: dict[str, BooleanWord], errors: Errors) -> None:
    """An unquoted yes/no/on/off a remedy would write into a config (`proposed_change: {mode: on}`) is
    refused as in a condition: YAML reads it as a boolean, and the author may have meant the word."""
    for where, word in boolean_words.items():
        if where.startswith(prefix) and (".proposed_change." in where or ".config." in where):
            errors.add(where, word.problem("which this remedy would write into the config"))


def _shown(value) -> str:
    return "an empty list" if value == [] else type_name(value)


def is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )


def number_problem(value) -> str | None:
    """Why the engine cannot hold this number literal exactly (None when it can)."""
    if not is_number(value):
        return None
    if not -(2**63) < value < 2**63:
        return f"{value!r} is outside the engine's number range (-2^63, 2^63); values beyond it count as unset"
    if isinstance(value, float) and value != 0 and abs(value) < sys.float_info.min:
        return f"{value!r} is a subnormal number, which durable_rules cannot read"
    return None


def is_scalar(value) -> bool:
    return isinstance(value, (str, bool)) or is_number(value)


_YAML_BOOL_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false"}
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Errors:
    """Collects ``<source>: <path>: <message>`` lines."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []
        self.settled: set[str] = set()

    def add(self, path: str, message: str) -> None:
        if path in self.settled:
            return
        self.items.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    def settle(self, path: str, message: str) -> None:
        """The one problem of the value at `path`: a later check of that value (its type, its range) would
        only restate it from the misreading, so it is not added (YAML's 1:30 is no 'HH:MM' clock)."""
        self.add(path, message)
        self.settled.add(path)


# ----------------------------------------------------------------------------------------------- regexes
_REGEX_ESCAPABLE = set(".|?*+()[]{}\\")


def regex_problem(pattern: str) -> str | None:
    """Why durable_rules' own regex engine would not match ``pattern`` the way an operator expects.

    durable_rules implements a small regex dialect: it always matches the WHOLE value, and knows only
    literals, ``.``, ``[a-z]`` classes, ``( )``, ``|``, ``? * +``, ``{m,n}`` and backslash-escapes of
    those metacharacters. Anything else is rejected here instead of silently meaning something else.
    """
    if pattern == "":
        return "empty pattern (use empty: true to test for an empty value)"
    if any(0xF0000 <= ord(ch) <= 0xF005F for ch in pattern):
        return "characters U+F0000-U+F005F are reserved (the engine's stand-ins for escaped characters)"
    i, n = 0, len(pattern)
    previous = ""  # the previous token when it was a quantifier
    while i < n:
        c = pattern[i]
        if c in "*+?{":
            problem, end = _quantifier_problem(pattern, i, previous)
            if problem:
                return problem
            previous, i = pattern[i:end], end
            continue
        previous = ""
        if c == "\\":
            if i + 1 >= n:
                return "pattern ends with a lone backslash"
            nxt = pattern[i + 1]
            if nxt not in _REGEX_ESCAPABLE:
                return (
                    f"unsupported escape \\{nxt} (durable_rules patterns only escape . | ? * + ( ) [ ] "
                    "{ } \\; write character classes such as [0-9] instead)"
                )
            i += 2
            continue
        if c == "(" and pattern[i + 1 : i + 2] == ")":
            return "an empty group '()' is not supported (durable_rules refuses or misreads it): drop it"
        if c in "^$":
            return (
                f"{c!r} is not supported: a pattern always matches the whole value "
                "(drop the anchor; use .* to match part of a value)"
            )
        if c == "(" and pattern[i + 1 : i + 2] == "?":
            return "(?...) groups are not supported"
        if c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                return "unterminated [ character class"
            body = pattern[i + 1 : end]
            if body == "":
                return "empty [] character class"
            if body.startswith("^"):
                return "negated character classes [^...] are not supported"
            if "\\" in body or "[" in body:
                return "escapes and '[' are not supported inside [...]"
            if body.startswith("-"):
                return "'-' is only allowed as the last character of a [...] class"
            problem = _class_range_problem(body)
            if problem:
                return problem
            i = end + 1
            continue
        i += 1
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid pattern: {exc}"
    return None


# A repetition as durable_rules reads one: it takes every "{" for the start of one (C's atoi on what is
# between the braces), where Python's re reads "{x}" or "a{ 2}" as literal text.
_INTERVAL = re.compile(r"\{(?:(\d+)|(\d*),(\d*))\}")
MAX_REPEAT_BOUND = 100  # durable_rules refuses (error 501) an upper bound above it


def _quantifier_problem(pattern: str, i: int, previous: str) -> tuple[str | None, int]:
    """Why the quantifier at ``pattern[i]`` (``*``, ``+``, ``?`` or ``{...}``) would not mean in durable_rules
    what it means in Python's re (None when it does), and where the next token starts. ``previous``: the
    quantifier right before it, if any."""
    c = pattern[i]
    if previous and c in "?+":
        return (
            f"{previous + c!r}: a quantifier right after another (Python's lazy '?' or possessive '+') is not "
            "supported; durable_rules reads it as a second repetition, and its compiler hangs on some (such "
            "as 'a*+'): write one quantifier",
            i + 1,
        )
    if c != "{":
        return None, i + 1
    m = _INTERVAL.match(pattern, i)
    if m is None:
        return (
            f"'{{' at offset {i} does not start a repetition {{m}}, {{m,}}, {{,n}} or {{m,n}} (digits only): "
            "durable_rules reads every '{' as one; write a literal brace as \\{",
            i + 1,
        )
    exact, low, high = m.groups()
    top = int(exact) if exact is not None else (int(high) if high else None)
    if top == 0:
        return (
            f"{m.group(0)!r} repeats nothing (durable_rules reads an upper bound of 0 as unbounded, like '*'): "
            "drop the repeated item instead",
            m.end(),
        )
    if top is not None and top > MAX_REPEAT_BOUND:
        return (
            f"{m.group(0)!r}: durable_rules allows at most {MAX_REPEAT_BOUND} as a repetition's upper bound "
            "(write {m,} for no upper bound)",
            m.end(),
        )
    return None, m.end()


_JSON_ESCAPED = {'"', "\\"} | {chr(c) for c in range(0x20)}


def _class_range_problem(body: str) -> str | None:
    """A range mixing characters JSON escapes (controls, '"', '\\') with others, e.g. [ -~]: the engine
    sees those characters as stand-ins outside the range (app.policy.compiler.engine_text)."""
    for m in re.finditer(r"(.)-(.)", body, re.DOTALL):
        lo, hi = ord(m.group(1)), ord(m.group(2))
        if lo > hi:
            return f"range {m.group(0)!r} in [...] is backwards"
        spanned = {chr(c) for c in (*range(lo, min(hi, 0x5C) + 1),)} & _JSON_ESCAPED
        if spanned and not (hi < 0x20):
            return (
                f"range {m.group(0)!r} in [...] includes {', '.join(repr(c) for c in sorted(spanned))} "
                "together with other characters; durable_rules cannot match that range: split it around "
                "them (e.g. [ !#-Z] for printable ASCII up to Z, and the others you need beside it)"
            )
    return None


# ----------------------------------------------------------------------------------------------- parsing
class _Parser:
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
                    "any or not)" + _suggest(key, WHEN_KEYS),
                )
        return _all(items)

    def group(self, key: str, node, path: str, negated: bool, parse_item):
        if not isinstance(node, list) or not node:
            self.errors.add(path, f"expected a non-empty list, got {_shown(node)}")
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
            allowed = ("eq", "ne", "in", "not_in") if fld.path[1] == "weekday" else TIME_OPS
            if op not in allowed:
                return f"operator {op} does not apply to {fld.name} (expected one of {', '.join(allowed)})"
            return None
        if op == "between":
            return "between applies to time fields only (time: {zone: ..., hour: {between: [9, 17]}})"
        if fld.ftype not in OPERATORS[op]:
            return f"operator {op} does not apply to {fld.name} ({_a(fld.ftype)} field)"
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

    def time_operand(self, fld: Field, op: str, value, path: str):
        name = fld.path[1]
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.errors.add(path, f"expected [from, to], got {_shown(value)}")
                return None
            low, high = (self._time_value(name, v, f"{path}[{i}]") for i, v in enumerate(value))
            if low is None or high is None:
                return None
            if low <= high:
                return All((Cmp(fld, "gte", low), Cmp(fld, "lte", high)))
            if name not in CYCLIC:
                self.errors.add(path, f"from {value[0]} is after to {value[1]}")
                return None
            return AnyOf((Cmp(fld, "gte", low), Cmp(fld, "lte", high)))  # wraps: 22..6, 12-20..01-03
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.errors.add(path, f"expected a non-empty list, got {_shown(value)}")
                return None
            values = [self._time_value(name, v, f"{path}[{i}]") for i, v in enumerate(value)]
            return None if None in values else Cmp(fld, op, distinct(values))
        converted = self._time_value(name, value, path)
        return None if converted is None else Cmp(fld, op, converted)

    def _time_value(self, name: str, value, path: str):
        """A rule's time value in the form the facts carry (weekday text, or a number)."""
        bad = None
        if name == "weekday":
            if (
                isinstance(value, str)
                and value.lower()[:3] in WEEKDAYS
                and (len(value) == 3 or value.lower() in _WEEKDAY_NAMES)
            ):
                return value.lower()[:3]
            bad = f"expected a weekday ({', '.join(WEEKDAYS)}), got {value!r}"
        elif name in ("hour", "minute"):
            top = 23 if name == "hour" else 59
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top:
                return value
            bad = f"expected an integer 0-{top}, got {value!r}"
        elif name == "clock":
            m = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", value) if isinstance(value, str) else None
            if m:
                return int(m.group(1)) * 100 + int(m.group(2))
            hint = " (quote it: YAML reads 15:00 unquoted as the number 900)" if isinstance(value, int) else ""
            bad = f"expected a time of day 'HH:MM', got {value!r}{hint}"
        elif name == "date":
            day = value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else None
            if isinstance(value, str):
                try:
                    day = dt.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
                except ValueError:
                    day = None
            if day is not None:
                return day.year * 10000 + day.month * 100 + day.day
            bad = f"expected a date YYYY-MM-DD, got {value!r}"
        else:  # month_day
            m = re.fullmatch(r"(\d{2})-(\d{2})", value) if isinstance(value, str) else None
            if m:
                try:
                    dt.date(2000, int(m.group(1)), int(m.group(2)))  # a leap year: 02-29 is a day
                    return int(m.group(1)) * 100 + int(m.group(2))
                except ValueError:
                    pass
            bad = f"expected a day of the year 'MM-DD' (every year), got {value!r}"
        self.errors.add(path, bad + (BOOLEAN_HINT if isinstance(value, bool) else ""))
        return None

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
        if other.ftype not in wanted or (op in ("eq", "ne") and fld.ftype not in (STR, INT, BOOL, ANY)):
            self.errors.add(
                f"{path}.field",
                f"{op} cannot compare {fld.name} ({_a(fld.ftype)} field) with {name} ({_a(other.ftype)} field)",
            )
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
            block, problem = _rule_block(item)
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
        if unquoted := _unquoted_number_problem(fld, value):
            self.errors.add(path, unquoted)
            return False
        if problem := _boolean_word_problem(fld, value, self.boolean_words.get(path)):
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
            self.errors.add(path, f"expected a non-empty list, got {_shown(value)}")
            return None
        ok = True
        for i, item in enumerate(value):
            ok = (
                self._scalar(fld if fld.ftype != LIST else Field(fld.section, fld.path, STR), item, f"{path}[{i}]")
                and ok
            )
        return distinct(_norm(v) for v in value) if ok else None

    def operand(self, fld: Field, op: str, value, path: str, negated: bool):
        if isinstance(value, dict) and op in REF_OPS:
            return self.reference(fld, op, value, path)
        if fld.section == "time":
            return self.time_operand(fld, op, value, path)
        if op == "overlaps":
            return self.overlaps_operand(fld, value, path)
        if op in ("eq", "ne"):
            return Cmp(fld, op, _norm(value)) if self._scalar(fld, value, path) else None
        if op in ("in", "not_in"):
            values = self._scalars(fld, value, path)
            return None if values is None else Cmp(fld, op, values)
        if op in ("lt", "lte", "gt", "gte"):
            if not is_number(value):
                self.errors.add(path, f"expected a number, got {type_name(value)}{_text_number_hint(value)}")
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
            return Cmp(fld, op, _norm(value)) if self._scalar(scalar_field, value, path) else None
        if op in ("contains_any", "contains_all"):
            values = self._scalars(fld, value, path)
            return None if values is None else Cmp(fld, op, values)
        # exists / empty
        if not isinstance(value, bool):
            self.errors.add(path, f"expected true or false, got {type_name(value)}")
            return None
        return Cmp(fld, op, value)


def _rule_block(item) -> tuple[str | None, str | None]:
    """A rule's CIDR literal as its block's text, or why it is refused. A bare address is its own /32
    (/128) block; a block with host bits set (10.1.2.3/24) is almost certainly a typo, so it is refused
    with the network it would stand for rather than silently widened to it. (A fact's value is read
    leniently, as its network: app.policy.derive._block.)"""
    if isinstance(item, str):
        try:
            return str(ipaddress.ip_network(item)), None
        except ValueError as exc:
            if "has host bits set" in str(exc):
                network = ipaddress.ip_network(item, strict=False)
                return None, f"{item} has host bits set: did you mean {network}? (or {item.split('/')[0]} alone)"
    return None, f"expected a CIDR block such as 10.0.0.0/16 (or an address), got {item!r}"


def distinct(values) -> tuple:
    """Each value of a rule's list once, in its order. `true` and `1` are two values (rules never mix
    types; Python's `True == 1` merged them, and `in: [1, true]` silently lost one); `3` and `3.0` are
    one number, as rules compare them."""
    seen: set = set()
    out = []
    for value in values:
        key = (type(value) is bool, value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return tuple(out)


def _norm(value):
    # 1.0 and 1 are the same number; keep ints as ints so compiled JSON is stable.
    if isinstance(value, str):
        return str(value)  # an UnquotedText a string field accepted is plain text from here on
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


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


def parse_rule(raw, index: int, file_name: str, errors: Errors, boolean_words: dict[str, BooleanWord] | None = None):
    """Validate one rule mapping; returns a Rule (or None, with errors added)."""
    path = f"rules[{index}]"
    if not isinstance(raw, dict):
        errors.add(path, f"expected a mapping (a rule), got {type_name(raw)}")
        return None, []
    before = len(errors.items)
    for key in raw:
        if key not in RULE_KEYS:
            errors.add(
                f"{path}.{key}", f"unknown field (expected one of {', '.join(RULE_KEYS)})" + _suggest(key, RULE_KEYS)
            )
    for key in REQUIRED_RULE_KEYS:
        if key not in raw:
            errors.add(f"{path}.{key}", "missing (required)")

    rule_id = raw.get("id")
    if "id" in raw:
        if not isinstance(rule_id, str):
            errors.add(f"{path}.id", f"expected a string, got {type_name(rule_id)}")
        elif len(rule_id) > MAX_ID_LENGTH or not ID_RE.match(rule_id):
            errors.add(
                f"{path}.id",
                f"{rule_id!r} is not a slug (lowercase letters and digits separated by "
                f"'-' or '_', at most {MAX_ID_LENGTH} characters)",
            )
    description = raw.get("description")
    if "description" in raw and (not isinstance(description, str) or not description.strip()):
        errors.add(f"{path}.description", f"expected a non-empty string, got {type_name(description)}")
    effect = raw.get("effect")
    if "effect" in raw and effect not in EFFECTS:
        shown = repr(effect) if isinstance(effect, str) else type_name(effect)
        errors.add(f"{path}.effect", f"unknown effect {shown} (expected one of {', '.join(EFFECTS)})")
    approver_role = raw.get("approver_role")
    if "approver_role" in raw:
        if effect != "require_approval":
            errors.add(f"{path}.approver_role", "only allowed with effect require_approval")
        elif approver_role not in APPROVER_ROLES:
            errors.add(f"{path}.approver_role", f"must be one of {', '.join(APPROVER_ROLES)}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add(f"{path}.enabled", f"expected true or false, got {type_name(enabled)}")

    parser = _Parser(errors, boolean_words)
    when = parser.when(raw["when"], f"{path}.when", negated=False, top=True) if "when" in raw else None
    scope = "impacted" if parser.uses_impacted else "change"

    message = raw.get("message")
    parts = None
    if "message" in raw:
        if not isinstance(message, str) or not message.strip():
            errors.add(f"{path}.message", f"expected a non-empty string, got {type_name(message)}")
        else:
            parts, problems = template.parse(message, scope, parser.count_names)
            for problem in problems:
                errors.add(f"{path}.message", problem)

    declared = ()
    if "remedies" in raw:
        if effect == "warn":
            errors.add(
                f"{path}.remedies",
                "a warn rule refuses nothing: remedies only apply to reject, block and require_approval",
            )
        else:
            declared = remedy_language.parse_remedies(
                raw["remedies"], f"{path}.remedies", scope, parser.count_names, errors
            )
            _remedy_boolean_words(f"{path}.remedies[", boolean_words or {}, errors)

    if len(errors.items) > before or when is None or parts is None:
        return None, parser.regexes
    rule = Rule(
        id=rule_id,
        description=description.strip(),
        effect=effect,
        when=when,
        message=parts,
        message_text=message,
        scope=scope,
        file=file_name,
        source=f"{errors.source}: {path}",
        index=index,
        enabled=enabled,
        fields=parser.fields,
        counts=parser.counts,
        overlaps=parser.overlaps,
        zones={f.path[0] for f in parser.fields if f.section == "time"}
        | {p[1][0] for p in parts if not isinstance(p, str) and p[0] == "time"},
        approver_role=approver_role if effect == "require_approval" else None,
        remedies=declared or (),
        places=tuple(parser.places),
    )
    return rule, parser.regexes


def parse_document(
    doc, file_name: str, errors: Errors, boolean_words: dict[str, BooleanWord] | None = None
) -> tuple[list[Rule], list[tuple[str, str]]]:
    """Validate one parsed YAML document (the whole file). ``boolean_words``: the unquoted yes/no/on/off
    YAML read as booleans, by dotted path, each place an alias lands (app.policy.loader)."""
    if doc is None:
        errors.add("", "file is empty (expected a mapping with a 'rules' list)")
        return [], []
    if not isinstance(doc, dict):
        errors.add("", f"expected a mapping with a 'rules' list at the top, got {type_name(doc)}")
        return [], []
    for key in doc:
        if key != "rules":
            errors.add(str(key), "unknown field (a rule file holds only 'rules')" + _suggest(key, ["rules"]))
    if "rules" not in doc:
        errors.add("rules", "missing (required)")
        return [], []
    raw_rules = doc["rules"]
    if raw_rules is None:
        raw_rules = []
    if not isinstance(raw_rules, list):
        errors.add("rules", f"expected a list of rules, got {type_name(raw_rules)}")
        return [], []
    rules, regexes = [], []
    for i, raw in enumerate(raw_rules):
        rule, rx = parse_rule(raw, i, file_name, errors, boolean_words)
        regexes.extend(rx)
        if rule is not None:
            rules.append(rule)
    return rules, regexes


def _a(word: str) -> str:
    """`a string field`, `an any field`: a field type with its article (messages said "a any field")."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"
