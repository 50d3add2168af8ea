"""The rule file: its shape (``rules:``, a list of rules), each rule's keys, and strict validation of both.

A rule file is YAML holding ``rules:`` (a list). Validation turns each rule into a :class:`Rule`
(app.policy.tree) whose ``when`` is a small condition tree parsed by app.policy.conditions; its message
is a template (app.policy.template) and its remedies are parsed by app.policy.remedies. Every problem is
reported as ``<file>: <field path>: <what is wrong>`` (e.g.
``rules/subnets.yaml: rules[0].when.impacted.typ: unknown field (did you mean 'type'?)``), and all
problems of all files are collected (app.policy.errors.Errors), not just the first.

Nothing here evaluates a condition: :mod:`app.policy.compiler` turns the tree into a durable_rules
ruleset and the engine evaluates it.
"""

from __future__ import annotations

from app.policy import remedies as remedy_language
from app.policy import template
from app.policy.conditions import WHEN_KEYS, ConditionParser
from app.policy.effects import APPROVER_ROLES, EFFECTS
from app.policy.errors import Errors
from app.policy.fields import suggest as _suggest
from app.policy.literals import ID_RE, type_name
from app.policy.tree import Rule
from app.yaml_misreads import BooleanWord

# a section of the condition beside `when` rather than in it: its line indented as far as `when`'s
_SECTION_ASTRAY = ": a section of the condition goes inside when; indent it under when:"
RULE_KEYS = ("id", "description", "effect", "when", "message", "enabled", "approver_role", "remedies")
REQUIRED_RULE_KEYS = ("id", "description", "effect", "when", "message")
MAX_ID_LENGTH = 100


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


def parse_rule(raw, index: int, file_name: str, errors: Errors, boolean_words: dict[str, BooleanWord] | None = None):
    """Validate one rule mapping → (a Rule or None with errors added, its patterns as (path, pattern))."""
    path = f"rules[{index}]"
    if not isinstance(raw, dict):
        errors.add(path, f"expected a mapping (a rule), got {type_name(raw)}")
        return None, []
    before = len(errors.items)
    _check_keys(raw, path, errors)
    _check_header(raw, path, errors)
    parser = ConditionParser(errors, boolean_words)
    when = parser.when(raw["when"], f"{path}.when", negated=False, top=True) if "when" in raw else None
    scope = "impacted" if parser.uses_impacted else "change"
    parts = _message(raw, path, scope, parser.count_names, errors)
    declared = _remedies(raw, path, scope, parser.count_names, boolean_words or {}, errors)
    if len(errors.items) > before or when is None or parts is None:
        return None, parser.regexes
    effect = raw["effect"]
    rule = Rule(
        id=raw["id"],
        description=raw["description"].strip(),
        effect=effect,
        when=when,
        message=parts,
        message_text=raw["message"],
        scope=scope,
        file=file_name,
        source=f"{errors.source}: {path}",
        index=index,
        enabled=raw.get("enabled", True),
        fields=parser.fields,
        counts=parser.counts,
        overlaps=parser.overlaps,
        zones={f.path[0] for f in parser.fields if f.section == "time"}
        | {p[1][0] for p in parts if not isinstance(p, str) and p[0] == "time"},
        approver_role=raw.get("approver_role") if effect == "require_approval" else None,
        remedies=declared or (),
        places=tuple(parser.places),
    )
    rule.liftable = remedy_language.liftable(rule)
    return rule, parser.regexes


def _check_keys(raw: dict, path: str, errors: Errors) -> None:
    """Every key a rule has is one a rule may have, and every key it must have is there."""
    for key in raw:
        if key not in RULE_KEYS:
            errors.add(
                f"{path}.{key}",
                f"unknown field (expected one of {', '.join(RULE_KEYS)})"
                + (_SECTION_ASTRAY if key in WHEN_KEYS else _suggest(key, RULE_KEYS)),
            )
    for key in REQUIRED_RULE_KEYS:
        if key not in raw:
            errors.add(f"{path}.{key}", "missing (required)")


def _check_header(raw: dict, path: str, errors: Errors) -> None:
    """The rule's plain keys: its id (a slug), description, effect, approver role and enabled flag."""
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
    if "approver_role" in raw:
        if effect != "require_approval":
            errors.add(f"{path}.approver_role", "only allowed with effect require_approval")
        elif raw["approver_role"] not in APPROVER_ROLES:
            errors.add(f"{path}.approver_role", f"must be one of {', '.join(APPROVER_ROLES)}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        errors.add(f"{path}.enabled", f"expected true or false, got {type_name(enabled)}")


def _message(raw: dict, path: str, scope: str, count_names: dict[str, str], errors: Errors):
    """The rule's message as template parts (None when it is missing or refused)."""
    if "message" not in raw:
        return None
    message = raw["message"]
    if not isinstance(message, str) or not message.strip():
        errors.add(f"{path}.message", f"expected a non-empty string, got {type_name(message)}")
        return None
    refused = frozenset(_count_names_written(raw) - set(count_names))
    parts, problems = template.parse(message, scope, count_names, refused)
    for problem in problems:
        errors.add(f"{path}.message", problem)
    return parts


def _count_names_written(node) -> set[str]:
    """Every name a `count: {name: ...}` in the rule gives (a misplaced count too), accepted or not."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "count" and isinstance(value, dict) and isinstance(value.get("name"), str):
                names.add(value["name"])
            names |= _count_names_written(value)
    elif isinstance(node, list):
        for item in node:
            names |= _count_names_written(item)
    return names


def _remedies(
    raw: dict, path: str, scope: str, count_names: dict[str, str], boolean_words: dict[str, BooleanWord], errors: Errors
):
    """The rule's declared remedies (empty when it has none; a warn rule may have none: it refuses nothing)."""
    if "remedies" not in raw:
        return ()
    if raw.get("effect") == "warn":
        errors.add(
            f"{path}.remedies",
            "a warn rule refuses nothing: remedies only apply to reject, block and require_approval",
        )
        return ()
    declared = remedy_language.parse_remedies(raw["remedies"], f"{path}.remedies", scope, count_names, errors)
    _remedy_boolean_words(f"{path}.remedies[", boolean_words, errors)
    return declared


def _remedy_boolean_words(prefix: str, boolean_words: dict[str, BooleanWord], errors: Errors) -> None:
    """An unquoted yes/no/on/off a remedy would write into a config (`proposed_change: {mode: on}`) is
    refused as in a condition: YAML reads it as a boolean, and the author may have meant the word."""
    for where, word in boolean_words.items():
        if where.startswith(prefix) and (".proposed_change." in where or ".config." in where):
            errors.add(where, word.problem("which this remedy would write into the config"))
