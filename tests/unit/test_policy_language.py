"""Strict validation of rule files: every broken file is refused with a message naming file and field."""

from __future__ import annotations

import re
import textwrap

import yaml

import pytest

from app.policy import PolicyEngine, RuleFileError, validate_dir
from app.policy.fields import LIST, NAMES_ONLY, STR, resolve_field
from app.policy.literals import number_like_text, yaml_number
from app.policy.regex_dialect import regex_problem

RULE = """
rules:
  - id: a
    description: d
    effect: warn
    when: {when}
    message: {message}
"""


def one_rule(when: str = "{change: {type: subnet}}", message: str = "m", **extra) -> str:
    text = RULE.format(when=when, message=message)
    for key, value in extra.items():
        text = text.replace("    effect: warn\n", f"    effect: warn\n    {key}: {value}\n")
    return text


# (file content, the error after "<dir>/x.yaml: ")
CASES = {
    "unknown field, with a suggestion": (
        one_rule("{impacted: {typ: ec2-instance}}"),
        "rules[0].when.impacted.typ: unknown field (did you mean 'type'?)",
    ),
    "unknown effect": (
        one_rule().replace("effect: warn", "effect: deny"),
        "rules[0].effect: unknown effect 'deny' (expected one of reject, block, require_approval, warn)",
    ),
    "unknown operator": (
        one_rule("{change: {type: {equals: subnet}}}"),
        "rules[0].when.change.type.equals: unknown operator 'equals' (expected one of eq, ne, in, not_in, lt, "
        "lte, gt, gte, matches, contains, contains_any, contains_all, exists, empty, overlaps, between)",
    ),
    # a rule author nests a key under an object field: "unknown operator 'instance_type'" sent them to the
    # operator list; the way to name the key is the dotted field
    "a key nested under an object field": (
        one_rule("{change: {new: {instance_type: {in: [m5.large]}}}}"),
        "rules[0].when.change.new.instance_type: 'instance_type' is no operator; a key of change.new is a dotted "
        "field: new.instance_type: …",
    ),
    "a key nested under impacted.config": (
        one_rule("{impacted: {config: {tags: {eq: x}}}}"),
        "rules[0].when.impacted.config.tags: 'tags' is no operator; a key of impacted.config is a dotted field: "
        "config.tags: …",
    ),
    "unknown rule key": (
        one_rule(severity="high"),
        "rules[0].severity: unknown field (expected one of id, description, effect, when, message, enabled, "
        "approver_role, remedies)",
    ),
    "unknown section": (
        one_rule("{changes: {type: subnet}}"),
        "rules[0].when.changes: unknown section (expected change, component, impacted, time, count, all, any or not) "
        "(did you mean 'change'?)",
    ),
    # an author's slips around a count: the count's own error was followed by "no count named 'lambdas'
    # … give the count a name" for each placeholder of a count that has that name
    "a refused count's placeholders are not reported again": (
        one_rule("{count: {name: lambdas, impacted: {type: lambda}, matches: 0}}", message='"{count.lambdas.ids}"'),
        "rules[0].when.count.matches: unknown key (expected name, impacted or siblings, and operators eq, ne, in, "
        "not_in, lt, lte, gt, gte)",
    ),
    "a misspelt count name names the rule's count": (
        one_rule("{count: {name: lambdas, impacted: {type: lambda}, gt: 0}}", message='"{count.lambda}"'),
        "rules[0].message: unknown placeholder {count.lambda}: no count named 'lambda' in this rule "
        "(did you mean 'lambdas'?)",
    ),
    "a section indented as far as when": (
        one_rule(count="{name: n, impacted: {}, gt: 1}", message='"{count.n}"'),
        "rules[0].count: unknown field (expected one of id, description, effect, when, message, enabled, "
        "approver_role, remedies): a section of the condition goes inside when; indent it under when:",
    ),
    "sub-field of a fixed field": (
        one_rule("{change: {type.name: subnet}}"),
        "rules[0].when.change.type.name: unknown field (change.type is a string field and has no sub-fields)",
    ),
    "bad key in an open path": (
        one_rule("{change: {new.cloudfront aliases: {exists: true}}}"),
        "rules[0].when.change.new.cloudfront aliases: bad key 'cloudfront aliases' in field path (keys are "
        "ASCII letters, digits, '_' and '-')",
    ),
    # `é` is a letter: "keys are letters" did not say why config.größe was refused
    "a key with a letter outside ASCII": (
        one_rule("{component: {config.größe: {exists: true}}}"),
        "rules[0].when.component.config.größe: bad key 'größe' in field path (keys are ASCII letters, digits, "
        "'_' and '-')",
    ),
    "wrong value type": (
        one_rule('{impacted: {depth: {gt: "1"}}}'),
        "rules[0].when.impacted.depth.gt: expected a number, got string",
    ),
    "YAML boolean where a string is expected": (
        one_rule("{change: {environment: no}}"),
        "rules[0].when.change.environment: expected a string for change.environment, got boolean (YAML reads "
        "yes/no/on/off/true/false as booleans; quote the value)",
    ),
    "operator that does not apply": (
        one_rule("{change: {changed_keys: {gt: 3}}}"),
        "rules[0].when.change.changed_keys.gt: operator gt does not apply to change.changed_keys (a list field)",
    ),
    "list field without an operator": (
        one_rule("{change: {changed_keys: cidr_block}}"),
        "rules[0].when.change.changed_keys: a list field needs an operator: contains, contains_any, "
        "contains_all, empty or exists",
    ),
    "null value": (
        one_rule("{change: {reason: null}}"),
        "rules[0].when.change.reason: null is not a value to compare with (use {exists: false})",
    ),
    "exists takes a boolean": (
        one_rule('{change: {old.cidr_block: {exists: "yes"}}}'),
        "rules[0].when.change.old.cidr_block.exists: expected true or false, got string",
    ),
    "empty in list": (
        one_rule("{change: {type: {in: []}}}"),
        "rules[0].when.change.type.in: expected a non-empty list, got an empty list",
    ),
    "empty any": (
        one_rule("{change: {any: []}}"),
        "rules[0].when.change.any: expected a non-empty list, got an empty list",
    ),
    "empty when": (one_rule("{}"), "rules[0].when: must name at least one section: change, component or impacted"),
    "unknown placeholder": (
        one_rule("{impacted: {type: lambda}}", '"{impacted.nickame} is down"'),
        "rules[0].message: unknown placeholder {impacted.nickame}: unknown field (did you mean 'nickname'?)",
    ),
    "impacted placeholder in a change rule": (
        one_rule(message='"{impacted.id} is down"'),
        "rules[0].message: placeholder {impacted.id} needs an impacted section in when (this rule is "
        "evaluated against the change only)",
    ),
    "unbalanced brace": (
        one_rule(message='"oops {change.component"'),
        "rules[0].message: unbalanced '{' at position 5 (write {{ for a literal brace)",
    ),
    "regex anchor": (
        one_rule('{change: {environment: {matches: "^prod"}}}'),
        "rules[0].when.change.environment.matches: '^' is not supported: a pattern always matches the whole "
        "value (drop the anchor; use .* to match part of a value)",
    ),
    "regex escape durable cannot do": (
        one_rule('{change: {environment: {matches: "a\\\\d+"}}}'),
        "rules[0].when.change.environment.matches: unsupported escape \\d (durable_rules patterns only escape "
        ". | ? * + ( ) [ ] { } \\; write character classes such as [0-9] instead)",
    ),
    "regex bound above durable's limit": (
        one_rule('{change: {environment: {matches: "a{200}"}}}'),
        "rules[0].when.change.environment.matches: '{200}': durable_rules allows at most 100 as a repetition's "
        "upper bound (write {m,} for no upper bound)",
    ),
    "negated regex": (
        one_rule('{change: {not: {environment: {matches: "prod.*"}}}}'),
        "rules[0].when.change.not.environment.matches: matches cannot be used under not (durable_rules has no "
        "negated pattern operator); match the values you want instead",
    ),
    "id not a slug": (
        one_rule().replace("id: a", "id: Subnet Rule"),
        "rules[0].id: 'Subnet Rule' is not a slug (lowercase letters and digits separated by '-' or '_', at "
        "most 100 characters)",
    ),
    "approver_role without require_approval": (
        one_rule(approver_role="approver"),
        "rules[0].approver_role: only allowed with effect require_approval",
    ),
    "an exponent YAML reads as text": (  # the hint once said "write 1e+5", which YAML reads as text too
        one_rule("{impacted: {depth: {gt: 1e5}}}"),
        "rules[0].when.impacted.depth.gt: expected a number, got string '1e5' (YAML reads it as text: write "
        "1.0e+5 or 100000 to mean a number)",
    ),
    "eq with an unquoted exponent YAML reads as text": (
        one_rule("{change: {new.limit: {eq: 1.0e19}}}"),
        "rules[0].when.change.new.limit.eq: YAML reads 1.0e19 (unquoted) as the text '1.0e19', not a number, so "
        "change.new.limit would be compared with a string and a number never equals it: write 1.0e+19 to mean "
        "the number (though that is beyond the engine's number range, (-2^63, 2^63)), or quote it ('1.0e19') "
        "to mean the text",
    ),
    "not_in with an unquoted exponent YAML reads as text": (
        one_rule("{impacted: {runtime.rate: {not_in: [0.5, -1e-5]}}}"),
        "rules[0].when.impacted.runtime.rate.not_in[1]: YAML reads -1e-5 (unquoted) as the text '-1e-5', not a "
        "number, so impacted.runtime.rate would be compared with a string and a number never equals it: write "
        "-1.0e-5 to mean the number, or quote it ('-1e-5') to mean the text",
    ),
    "a number field given an unquoted exponent": (
        one_rule("{impacted: {depth: 1e5}}"),
        "rules[0].when.impacted.depth: YAML reads 1e5 (unquoted) as the text '1e5', not a number (impacted.depth "
        "holds numbers): write 1.0e+5 or 100000 to mean the number",
    ),
    # `weekday: [sat, on]` said "got True", not why
    "a weekday YAML read as a boolean": (
        one_rule("{time: {zone: UTC, weekday: [sat, on]}}"),
        "rules[0].when.time.weekday[1]: expected a weekday (mon, tue, wed, thu, fri, sat, sun), got True (YAML "
        "reads yes/no/on/off/true/false as booleans; quote the value)",
    ),
    # a float literal too small for a 64-bit float is read as 0.0: `lt: 1.0e-400` compared with zero
    "a number that underflows to zero": (
        one_rule("{component: {config.rate: {lt: 1.0e-400}}}"),
        "rules[0].when.component.config.rate.lt: YAML reads 1.0e-400 (unquoted) as the number 0.0 (too small "
        "for a 64-bit float, it underflows): write 0.0 to mean that number, or quote it ('1.0e-400') to mean "
        "the text",
    ),
    # YAML 1.1 reads an unquoted on/off/yes/no as a boolean: `config.mode: on` compared a config value with
    # true, and a component whose mode is the text "on" silently never matched (as ambiguous as 017)
    "an unquoted on, compared with a config value": (
        one_rule("{component: {config.mode: on}}"),
        "rules[0].when.component.config.mode: YAML reads on (unquoted) as the boolean true, so "
        "component.config.mode would be compared with a boolean and the text 'on' never equals it: write true "
        "to mean the boolean, or quote it ('on') to mean the text",
    ),
    "an unquoted Off in a not_in list, inside any": (
        one_rule("{any: [{impacted: {runtime.power: {not_in: [standby, Off]}}}]}"),
        "rules[0].when.any[0].impacted.runtime.power.not_in[1]: YAML reads Off (unquoted) as the boolean false, "
        "so impacted.runtime.power would be compared with a boolean and the text 'Off' never equals it: write "
        "false to mean the boolean, or quote it ('Off') to mean the text",
    ),
    "an unquoted no in contains": (
        one_rule("{change: {new.answers: {contains: no}}}"),
        "rules[0].when.change.new.answers.contains: YAML reads no (unquoted) as the boolean false, so "
        "change.new.answers would be compared with a boolean and the text 'no' never equals it: write false "
        "to mean the boolean, or quote it ('no') to mean the text",
    ),
    # a word reached through an alias is judged at each place it lands: the loader walked an alias once, so
    # `enabled: &w on` (a boolean, as meant) hid `config.mode: *w` (compared with true, silently)
    "an unquoted on reached through an alias, its first place a boolean's": (
        one_rule("{component: {config.mode: *w}}", enabled="&w on"),
        "rules[0].when.component.config.mode: YAML reads on (unquoted) as the boolean true, so "
        "component.config.mode would be compared with a boolean and the text 'on' never equals it: write true "
        "to mean the boolean, or quote it ('on') to mean the text",
    ),
    "an unquoted off a remedy would write, reached through an alias": (
        one_rule("{component: {type: subnet}}").replace("effect: warn", "effect: block")
        + "    enabled: &w off\n    remedies:\n      - description: d\n        changes:\n"
        "          - {op: update, component: subnet/x, proposed_change: {mode: *w}}\n",
        "rules[0].remedies[0].changes[0].proposed_change.mode: YAML reads off (unquoted) as the boolean false, "
        "which this remedy would write into the config: write false to mean the boolean, or quote it ('off') to "
        "mean the text",
    ),
    # `not` over an empty condition holds for nothing: the rule could never fire, silently (as `any: []`,
    # which was refused); `not: {impacted: {}}` reads as "reaches nothing", which it is not
    "not over an empty condition": (
        one_rule("{change: {type: subnet, not: {}}}"),
        "rules[0].when.change.not: not over an empty condition never holds (an empty condition holds for "
        "everything): name the fields that must not hold",
    ),
    "not over an empty impacted section": (
        one_rule("{change: {type: subnet}, not: {impacted: {}}}"),
        "rules[0].when.not: not over an empty condition never holds (an empty condition holds for everything): "
        "name the fields that must not hold; a rule naming impacted is evaluated once per impacted component, "
        'so this is not "reaches nothing": that is count: {impacted: {}, eq: 0}',
    ),
    "not over a choice with an empty alternative, in a count filter": (
        one_rule("{count: {impacted: {not: {any: [{}, {type: lambda}]}}, eq: 0}}"),
        "rules[0].when.count.impacted.not: not over an empty condition never holds (an empty condition holds for "
        "everything): name the fields that must not hold",
    ),
    "an unquoted YAML 1.2 octal": (
        one_rule("{component: {config.mode: {ne: 0o17}}}"),
        "rules[0].when.component.config.mode.ne: YAML reads 0o17 (unquoted) as the text '0o17', not a number, so "
        "component.config.mode would be compared with a string and a number never equals it: write 15 to mean "
        "the number, or quote it ('0o17') to mean the text",
    ),
    "an unquoted leading-zero octal YAML 1.1 reads as another number": (
        one_rule("{component: {config.mode: {eq: 017}}}"),
        "rules[0].when.component.config.mode.eq: YAML reads 017 (unquoted) as the octal number 15 (a leading "
        "zero makes it octal): write 15 to mean that number, or quote it ('017') to mean the text",
    ),
    "an unquoted base-60 form YAML 1.1 reads as a number": (
        one_rule("{change: {new.window: 1:30}}"),
        "rules[0].when.change.new.window: YAML reads 1:30 (unquoted) as the base-60 (sexagesimal) number 90: "
        "quote it ('1:30') to mean the text, or write 90 to mean that number",
    ),
    "an unquoted hexadecimal, in a string field: refused once, as misread": (
        one_rule("{change: {nickname: 0x1F}}"),
        "rules[0].when.change.nickname: YAML reads 0x1F (unquoted) as the hexadecimal number 31: write 31 to "
        "mean that number, or quote it ('0x1F') to mean the text",
    ),
    "an unquoted binary in a list": (
        one_rule("{impacted: {runtime.flags: {not_in: [1, -0b101]}}}"),
        "rules[0].when.impacted.runtime.flags.not_in[1]: YAML reads -0b101 (unquoted) as the binary number -5: "
        "write -5 to mean that number, or quote it ('-0b101') to mean the text",
    ),
    "an unquoted underscore number in a number field": (
        one_rule("{impacted: {depth: {gt: 1_000}}}"),
        "rules[0].when.impacted.depth.gt: YAML reads 1_000 (unquoted) as the number 1000 (YAML 1.1 drops the "
        "underscores): write 1000 to mean that number, or quote it ('1_000') to mean the text",
    ),
    "an unquoted leading zero before a 9, which YAML 1.1 reads as text": (
        one_rule("{component: {config.port: {ne: 019}}}"),
        "rules[0].when.component.config.port.ne: YAML reads 019 (unquoted) as the text '019', not a number, so "
        "component.config.port would be compared with a string and a number never equals it: write 19 to mean "
        "the number, or quote it ('019') to mean the text",
    ),
    "not a finite number": (
        one_rule("{impacted: {depth: {lt: .inf}}}"),
        "rules[0].when.impacted.depth.lt: YAML reads .inf (unquoted) as infinity, which JSON has no number for: "
        "quote it ('.inf') to mean the text, or write null for no value",  # as every YAML reader says it
    ),
    # time.<zone>.local is the text 'YYYY-MM-DD HH:MM' for messages; a condition on it read its value as a
    # month-day (a number the text never equals): the rule loaded and could never fire
    "a condition on the message-only time field local": (
        one_rule("{time: {zone: UTC, local: '12-24'}}"),
        "rules[0].when.time.local: time.UTC.local "
        "is text for messages, not compared: compare weekday (eq, ne, in, not_in: mon … sun), or hour, minute "
        "(0-23, 0-59), clock ('HH:MM'), date (YYYY-MM-DD) or month_day ('MM-DD') (eq, ne, in, not_in, lt, lte, "
        "gt, gte, between)",
    ),
    "an ordering on the message-only time field local": (
        one_rule("{time: {zone: Europe/Paris, local: {gte: '2026-12-24 09:00'}}}"),
        "rules[0].when.time.local.gte: time.Europe/Paris.local "
        "is text for messages, not compared: compare weekday (eq, ne, in, not_in: mon … sun), or hour, minute "
        "(0-23, 0-59), clock ('HH:MM'), date (YYYY-MM-DD) or month_day ('MM-DD') (eq, ne, in, not_in, lt, lte, "
        "gt, gte, between)",
    ),
    # {field: …} on a time field compared the clock's encoded form (20261224, 1530, 'thu') with the fact's
    # value: `date: {eq: {field: change.new.go_live}}` with go_live '2026-12-24' never held
    "a time field compared with another field": (
        one_rule("{time: {zone: UTC, date: {eq: {field: change.new.go_live}}}}"),
        "rules[0].when.time.date.eq: time.UTC.date compares with values written in the rule, not with another "
        "field ({field: …})",
    ),
    # types never mix: a string field never equals an integer field's value, so eq never held (ne always)
    "eq between a string field and an integer field": (
        one_rule("{change: {type: {eq: {field: change.affected_count}}}}"),
        "rules[0].when.change.type.eq.field: eq cannot compare change.type (a string field) with "
        "change.affected_count (an integer field): types never mix, so it would never hold",
    ),
    "ne between an integer field and a boolean field": (
        one_rule("{impacted: {depth: {ne: {field: impacted.runtime_published}}}}"),
        "rules[0].when.impacted.depth.ne.field: ne cannot compare impacted.depth (an integer field) with "
        "impacted.runtime_published (a boolean field): types never mix, so it would always hold",
    ),
    # overlaps compares CIDR blocks; a field of names (ids, types, environments, operations…) never holds
    # one, so the test never held (and under not always): it loaded as a string or list field's operator
    "overlaps on a field of names": (
        one_rule("{change: {environment: {overlaps: 10.0.0.0/8}}}"),
        "rules[0].when.change.environment.overlaps: overlaps compares CIDR blocks, and change.environment holds "
        "environments, never a CIDR block: it would never hold (compare a config, runtime, old or new key that "
        "holds blocks, e.g. change.new.cidr_block)",
    ),
    "overlaps on a list of names, in a count's filter": (
        one_rule("{count: {impacted: {path: {overlaps: 10.0.0.0/8}}, gt: 0}}"),
        "rules[0].when.count.impacted.path.overlaps: overlaps compares CIDR blocks, and impacted.path holds "
        "component ids, never a CIDR block: it would never hold (compare a config, runtime, old or new key that "
        "holds blocks, e.g. change.new.cidr_block)",
    ),
    "overlaps against a field of names, under not": (
        one_rule("{not: {change: {new.cidr_block: {overlaps: {field: change.type}}}}}"),
        "rules[0].when.not.change.new.cidr_block.overlaps.field: overlaps compares CIDR blocks, and change.type "
        "holds component types, never a CIDR block: it would never hold (compare a config, runtime, old or new "
        "key that holds blocks, e.g. change.new.cidr_block)",
    ),
    "rules is not a list": ("rules: {id: a}\n", "rules: expected a list of rules, got mapping"),
    "empty file": ("", "file is empty (expected a mapping with a 'rules' list)"),
    "YAML syntax error": (
        "rules:\n  - id: a\n    description: d\n     effect: warn\n",
        "line 4, column 12: YAML error: mapping values are not allowed in this context: usually an indentation "
        "slip — line 4 (or the one above it) does not start in the same column as the other keys of its mapping",
    ),
    "a key indented one space less than its siblings": (
        "rules:\n  - id: a\n    description: d\n    effect: warn\n    when:\n      change:\n        type: vpc\n"
        "       environment: prod\n    message: m\n",
        "line 8, column 8: YAML error: while parsing a block mapping, did not find expected key: usually an "
        "indentation slip — line 8 (or the one above it) does not start in the same column as the other keys of "
        "its mapping",
    ),
    "duplicate key": (
        one_rule().replace("    effect: warn\n", "    effect: warn\n    effect: reject\n"),
        "line 5, column 5: YAML error: duplicate key 'effect' (first at line 4)",
    ),
}


@pytest.mark.parametrize("text,expected", CASES.values(), ids=list(CASES))
def test_each_broken_file_names_file_and_field(tmp_path, text, expected):
    (tmp_path / "x.yaml").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    assert validate_dir(tmp_path) == [f"{tmp_path / 'x.yaml'}: {expected}"]
    with pytest.raises(RuleFileError) as exc:
        PolicyEngine(tmp_path).load()
    assert str(exc.value) == f"{tmp_path / 'x.yaml'}: {expected}"


def test_a_count_operator_indented_out_of_its_count_says_where_it_goes(tmp_path):
    (tmp_path / "x.yaml").write_text(textwrap.dedent(one_rule("{count: {name: n, impacted: {}}, gt: 1}")).lstrip())
    assert [p.split(": ", 1)[1] for p in validate_dir(tmp_path)] == [
        "rules[0].when.count: expected an operator on the count (eq, ne, in, not_in, lt, lte, gt, gte), e.g. gt: 3",
        "rules[0].when.gt: unknown section (expected change, component, impacted, time, count, all, any or not): "
        "an operator on the count goes inside it; indent it as far as the count's other keys",
    ]


def test_the_examples_path_format(tmp_path, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "subnets.yaml").write_text(textwrap.dedent(one_rule("{impacted: {typ: ec2-instance}}")).lstrip())
    monkeypatch.chdir(tmp_path)
    assert validate_dir("rules") == [
        "rules/subnets.yaml: rules[0].when.impacted.typ: unknown field (did you mean 'type'?)"
    ]


def test_missing_required_fields_are_all_reported(tmp_path):
    (tmp_path / "x.yaml").write_text("rules:\n  - id: a\n    effect: warn\n    when: {change: {type: subnet}}\n")
    assert validate_dir(tmp_path) == [
        f"{tmp_path / 'x.yaml'}: rules[0].description: missing (required)",
        f"{tmp_path / 'x.yaml'}: rules[0].message: missing (required)",
    ]


def test_every_problem_in_every_file_is_reported(tmp_path):
    (tmp_path / "a.yaml").write_text(textwrap.dedent(one_rule("{impacted: {typ: x}}")).lstrip())
    (tmp_path / "b.yaml").write_text(
        textwrap.dedent(one_rule().replace("id: a", "id: b").replace("effect: warn", "effect: nope")).lstrip()
    )
    (tmp_path / "c.yaml").write_text(textwrap.dedent(one_rule().replace("id: a", "id: c")).lstrip())
    errors = validate_dir(tmp_path)
    assert [e.split(": ")[0] for e in errors] == [str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")]
    with pytest.raises(RuleFileError) as exc:
        PolicyEngine(tmp_path).load()
    assert exc.value.errors == errors
    assert str(exc.value).startswith("2 errors in rule files:")


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(textwrap.dedent(one_rule()).lstrip())
    (tmp_path / "b.yaml").write_text(textwrap.dedent(one_rule()).lstrip())
    assert validate_dir(tmp_path) == [
        f"{tmp_path / 'b.yaml'}: rules[0].id: duplicate id 'a' (already used at {tmp_path / 'a.yaml'}: rules[0])"
    ]


def test_only_yaml_files_count_and_hidden_files_are_ignored(tmp_path):
    (tmp_path / "a.yml").write_text(textwrap.dedent(one_rule()).lstrip())
    (tmp_path / ".#a.yaml").write_text("broken: [")
    (tmp_path / "notes.txt").write_text("broken: [")
    (tmp_path / "a.yaml.swp").write_text("broken: [")
    engine = PolicyEngine(tmp_path)
    engine.load()
    assert engine.rule_count == 1
    assert engine.status()["files"] == ["a.yml"]


def test_missing_directory(tmp_path):
    assert validate_dir(tmp_path / "nope") == [f"{tmp_path / 'nope'}: rules directory not found"]


def test_valid_language_features_are_accepted(tmp_path):
    text = """
    rules:
      - id: everything
        description: every operator and grouping once
        effect: block
        enabled: true
        when:
          change:
            type: [subnet, vpc]
            environment: {ne: prod, in: [dev, staging], not_in: [qa]}
            changed_keys: {contains: cidr_block, contains_any: [cidr, cidr_block], contains_all: [cidr_block]}
            affected_count: {lt: 100, lte: 99, gt: 0, gte: 1}
            nickname: {matches: "karma-[a-z]+(-[a-z])?.*"}
            reason: {exists: false, empty: true}
            old.cidr_block: {exists: true}
            new: {empty: false}
            any:
              - requested_by: ted@strall.com
              - not: {requested_by: {matches: "bot-.*"}}
          component:
            config.vpc_nickname: karma-dev
          impacted:
            all:
              - type: ec2-instance
              - runtime.state: running
            not:
              runtime_published: false
          not:
            impacted: {depth: {gt: 5}}
        message: "{impacted.id} in {change.component} ({change.changed_keys}) {{literal}}"
    """
    (tmp_path / "x.yaml").write_text(textwrap.dedent(text).lstrip())
    assert validate_dir(tmp_path) == [
        f"{tmp_path / 'x.yaml'}: rules[0].when.change.any[1].not.requested_by.matches: matches cannot be used "
        "under not (durable_rules has no negated pattern operator); match the values you want instead"
    ]
    (tmp_path / "x.yaml").write_text(
        textwrap.dedent(text)
        .replace('- not: {requested_by: {matches: "bot-.*"}}', '- requested_by: {matches: "bot-.*"}')
        .lstrip()
    )
    assert validate_dir(tmp_path) == []


@pytest.mark.parametrize(
    "pattern,problem",
    [
        ("prod-.*", None),
        ("[a-z0-9]+-(dev|prod)", None),
        ("a{1,3}b?", None),
        ("x\\.y", None),
        ("", "empty pattern"),
        ("^a", "'^' is not supported"),
        ("a$", "'$' is not supported"),
        ("\\d+", "unsupported escape \\d"),
        ("[^a]", "negated character classes"),
        ("(?i)a", "(?...) groups are not supported"),
        ("[a", "unterminated [ character class"),
        ("[-a]", "'-' is only allowed as the last character"),
        ("(a", "invalid pattern"),
    ],
)
def test_regex_dialect(pattern, problem):
    got = regex_problem(pattern)
    assert (got is None) if problem is None else (problem in got)


@pytest.mark.parametrize(
    "text,meant",
    [
        *((t, float(t.replace("_", ""))) for t in ["1e5", "1.0e19", "-1e-5", "+2E3", ".5e3", "-.5e3", "1.e5", "1_0e2"]),
        ("1e+5", 1e5),
        ("0o17", 15),
        ("019", 19),
        ("-08", -8),
    ],
)
def test_the_number_a_refusal_proposes_is_one_yaml_reads_as_that_number(text, meant):
    assert number_like_text(text) and isinstance(yaml.safe_load(text), str)
    for written in yaml_number(text).split(" or "):
        number = yaml.safe_load(written)
        assert isinstance(number, (int, float)) and not isinstance(number, bool), written
        assert number == meant, written


@pytest.mark.parametrize(
    "text", ["017", "-017", "00", "0x1F", "+0b101", "1_000", "1_000.5", "1:30", "1:30.5", "1:00:00"]
)
def test_the_numbers_yaml_misreads_are_refused_with_one_it_reads_as_the_same(tmp_path, text):
    """Each form YAML 1.1 reads as a number not as written is refused wherever it stands, and the number the
    refusal proposes reads back as what YAML read; quoted, each is the text."""
    (tmp_path / "x.yaml").write_text(one_rule(f"{{component: {{config.mode: {{eq: {text}}}}}}}"))
    (problem,) = validate_dir(tmp_path)
    proposed = re.search(r"write (\S+) to mean that number", problem).group(1)
    assert yaml.safe_load(proposed) == yaml.safe_load(text) and f"quote it ('{text}')" in problem
    (tmp_path / "x.yaml").write_text(one_rule(f"{{component: {{config.mode: {{eq: '{text}'}}}}}}"))
    assert validate_dir(tmp_path) == []


def test_plain_decimal_numbers_pass(tmp_path):
    (tmp_path / "x.yaml").write_text(
        one_rule("{impacted: {depth: {gt: 0}, runtime.rate: {in: [17, -3, 1.5, 0.25, 1.0e+5]}}}")
    )
    assert validate_dir(tmp_path) == []


def test_number_looking_text_is_text_when_quoted_or_when_the_field_holds_strings(tmp_path):
    (tmp_path / "x.yaml").write_text(
        one_rule("{change: {nickname: 1e5, new.limit: {in: ['1e5', \"2e3\"]}, changed_keys: {contains: 1e5}}}")
    )
    assert validate_dir(tmp_path) == []


def test_a_yes_or_on_word_stands_where_a_boolean_is_its_only_meaning(tmp_path):
    """yes/no/on/off are refused only where the text could be meant (a config or runtime value): a boolean
    field, `enabled`, `exists`/`empty` take them as the booleans they can only be, and a quoted 'on' is
    the text, which then matches the config value "on"."""
    text = one_rule(
        "{impacted: {runtime_published: yes, config.mode: {in: ['on', 'off']}, runtime.x: {exists: no}}}",
        enabled="yes",
    )
    (tmp_path / "x.yaml").write_text(textwrap.dedent(text).lstrip())
    assert validate_dir(tmp_path) == []


def test_a_field_type_is_named_with_its_article(tmp_path):
    """The message said "operator matches does not apply to impacted.depth (a integer field)"."""
    (tmp_path / "x.yaml").write_text(one_rule("{impacted: {depth: {matches: '1.*'}}}"))
    (problem,) = validate_dir(tmp_path)
    assert problem.endswith("operator matches does not apply to impacted.depth (an integer field)"), problem


def test_a_block_texts_kept_line_break_is_refused_in_a_condition(tmp_path):
    """`reason: >` then `emergency` is 'emergency\\n' to YAML (a block text keeps its last line break by
    default): the rule compared a value no reason has, and silently never fired. In a condition it is
    refused, naming the field and both ways to write it; `>-`, `|-` and an explicit `|+` stand, and so does
    a block text in a message or a description."""
    text = textwrap.dedent(
        """\
        rules:
          - id: a
            description: >
              d
            effect: warn
            message: >
              m
            when:
              change:
                reason: >
                  emergency
                nickname:
                  in:
                    - a
                    - &n |
                      b
              impacted:
                id: *n
                type: |-
                  subnet
                action: |+
                  kept

        """
    )
    (tmp_path / "x.yaml").write_text(text)
    where = tmp_path / "x.yaml"
    assert validate_dir(tmp_path) == [
        f"{where}: rules[0].when.change.reason: YAML keeps the line break a block text (>) ends with, so this is "
        "'emergency\\n', which the text 'emergency' never equals: write >- to mean 'emergency', or quote the text",
        f"{where}: rules[0].when.change.nickname.in[1]: YAML keeps the line break a block text (|) ends with, so "
        "this is 'b\\n', which the text 'b' never equals: write |- to mean 'b', or quote the text",
        f"{where}: rules[0].when.impacted.id: YAML keeps the line break a block text (|) ends with, so this is "
        "'b\\n', which the text 'b' never equals: write |- to mean 'b', or quote the text",
    ]


def test_a_condition_a_merge_key_brought_in_and_this_mapping_overrides_is_refused(tmp_path):
    """`when: {<<: *base, change: {environment: prod}}` replaces base's `change` whole (YAML's merge is
    shallow): `change: {type: subnet}` was dropped and the rule fired for every prod change. Under `when` such
    an override is refused, naming the field; a merge that only adds keys stands."""
    text = textwrap.dedent(
        """\
        rules:
          - id: a
            description: d
            effect: warn
            message: m
            when: &base
              change: &subnet {type: subnet}
          - id: b
            description: d
            effect: warn
            message: m
            when:
              <<: *base
              change: {environment: prod}
          - id: c
            description: d
            effect: warn
            message: m
            when:
              <<: *base
              component: {<<: *subnet, type: vpc, environment: prod}
        """
    )
    (tmp_path / "x.yaml").write_text(text)
    said = (
        "overrides the {0} a merge key (<<) brought in: YAML replaces it whole, it does not combine conditions "
        "(the merged {0} is dropped): write the conditions out, or combine them with all: [...]"
    )
    assert validate_dir(tmp_path) == [
        f"{tmp_path / 'x.yaml'}: rules[1].when.change: {said.format('change')}",
        f"{tmp_path / 'x.yaml'}: rules[2].when.component.type: {said.format('type')}",
    ]


def test_overlaps_stands_on_every_field_that_may_hold_a_block(tmp_path):
    """The refusal of overlaps on a field of names leaves the fields that may hold a CIDR block: config,
    runtime, old and new keys, a nickname (`10.0.0.1` is one), keys, identities and reasons (free text)."""
    when = (
        "{change: {new.cidr_block: {overlaps: {field: component.config.cidr}}, nickname: {overlaps: 10.0.0.0/8}, "
        "changed_keys: {overlaps: 10.0.0.0/8}, reason: {overlaps: 10.0.0.0/8}, requested_by: {overlaps: '::1'}}, "
        "impacted: {runtime.cidr: {overlaps: [10.0.0.0/8]}, via: {overlaps: 10.0.0.0/8}}, "
        "count: {siblings: {config.cidr_block: {overlaps: {field: change.new.cidr_block}}}, gt: 0}}"
    )
    (tmp_path / "x.yaml").write_text(textwrap.dedent(one_rule(when)).lstrip())
    assert validate_dir(tmp_path) == []


def test_every_field_of_names_is_a_declared_text_or_list_field():
    """fields.NAMES_ONLY names fields as rules do: a misspelt entry would leave overlaps on it loading."""
    for name in NAMES_ONLY:
        fld, why = resolve_field(*name.split(".", 1))
        assert fld is not None and fld.ftype in (STR, LIST), (name, why)


def test_what_the_operator_and_field_refusals_leave_loading(tmp_path):
    """The refusals of a condition on time.<zone>.local, of {field: …} on a time field and of eq/ne across
    two fixed scalar types leave these alone: local in a message, the other time fields with the rule's
    values, and a reference between fields of one type or to an open (config/runtime/new/old) field."""
    when = (
        "{time: {zone: UTC, weekday: [mon], hour: {between: [9, 17]}, date: {lt: 2027-01-01}}, "
        "change: {type: {eq: {field: component.type}}, affected_count: {ne: {field: component.version}}}, "
        "impacted: {depth: {lt: {field: change.new.max_depth}}, runtime.state: {eq: {field: change.new.state}}}}"
    )
    (tmp_path / "x.yaml").write_text(textwrap.dedent(one_rule(when, "'at {time.UTC.local}'")).lstrip())
    assert validate_dir(tmp_path) == []
