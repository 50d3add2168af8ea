"""An unquoted on/off/yes/no (On, YES…) is the boolean to YAML 1.1 (PyYAML) and the word to JSON, YAML 1.2
and the eye. In a change file (karma request -f), a seed file and a change typed in the console it went in
silently as a boolean: a string field's refusal said "Not a valid string." without why, a field of any
type stored the wrong value. app.yaml_misreads now finds every boolean YAML read, by the path the data has
it at (aliases and merge keys included), and judges it against the schema of the config it stands in:
refused where the schema refuses it (quote it), taken where only a boolean fits (`enabled: yes`), refused
with both ways out where either fits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app import yaml_misreads
from app.client.body import BodyError, read_file, served_validators
from app.components import schema
from app.console.work import parse_body
from app.errors import Unprocessable
from app.ruletools.cases import CaseFileError, read_cases
from app.seeding import SeedError
from app.seeding import read_file as read_seed
from app.yaml_strict import StrictLoader

# What PyYAML's resolver reads as a boolean: each word as written, capitalised or in capitals.
BOOLEANS = [f(w) for w in ("yes", "no", "on", "off", "true", "false") for f in (str.lower, str.capitalize, str.upper)]
NOT_BOOLEANS = ["y", "Y", "n", "N", "yEs", "oN", "tRUE", "Off!", "offf", "enabled"]


@pytest.mark.parametrize("loader", [yaml.SafeLoader, StrictLoader], ids=["SafeLoader", "StrictLoader"])
def test_exactly_the_words_pyyaml_reads_as_booleans_are_found(loader):
    """y and n are booleans in the YAML 1.1 spec's type repository, not to PyYAML's resolver: they are text,
    and so not reported. The set covered is the one PyYAML really resolves (test, not belief)."""
    for word in BOOLEANS + NOT_BOOLEANS:
        data, node = yaml_misreads.compose(f"v: {word}\n", loader)
        found = yaml_misreads.booleans_read(node)
        if word in BOOLEANS:
            assert isinstance(data["v"], bool), word
            assert found == [yaml_misreads.BooleanWord(("v",), word, word.lower() in ("yes", "on", "true"))]
        else:
            assert data["v"] == word and found == [], word


def _found(text: str) -> list[tuple]:
    _data, node = yaml_misreads.compose(text, StrictLoader)
    return [(w.path, w.text, w.value, w.key) for w in yaml_misreads.booleans_read(node)]


def test_each_place_an_alias_or_a_merge_key_puts_a_boolean_is_found():
    text = "base: &b on\nmore: &m {inner: off}\nconfig:\n  x: *b\n  list: [*b, 'on', \"no\"]\n  merged:\n    <<: *m\n"
    assert _found(text) == [
        (("base",), "on", True, False),
        (("more", "inner"), "off", False, False),
        (("config", "x"), "on", True, False),
        (("config", "list", 0), "on", True, False),  # the quoted two are text
        (("config", "merged", "inner"), "off", False, False),  # where the data has it, not under `<<`
    ]


def test_a_key_read_as_a_boolean_is_found_as_a_key():
    assert _found("config:\n  on: 1\n") == [(("config", "on"), "on", True, True)]


def test_a_recursive_anchor_and_multiplying_aliases_end():
    assert _found("a: &a [on, *a]\n") == [(("a", 0), "on", True, False)]
    laughs = "a: &a [on, on, on, on, on, on, on, on, on, on]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")
    )  # 10^8 places: compose() refuses the document (test_yaml_readers.py); the walk is bounded all the same
    node = yaml.compose(laughs, Loader=StrictLoader)
    assert len(yaml_misreads.booleans_read(node)) == yaml_misreads.MAX_BOOLEAN_PLACES


def test_a_large_documents_every_boolean_is_judged_and_the_laughs_still_stop():
    """The walk stopped at 10,000 places, so in a seed with more booleans than that the rest went unjudged
    (an `on` in a text field of component 12,000 passed as true). load() bounds it by the text instead:
    half its length, which a document's own places never reach and an alias bomb's do."""
    modes = ["'x'"] * 11_999 + ["on"]
    items = "".join(f"  - {{enabled: yes, mode: {mode}}}\n" for mode in modes)
    text = "items:\n" + items
    typed = {("items", i): None for i in range(12_000)}
    _data, misread = yaml_misreads.load(text, StrictLoader, lambda doc: typed)
    assert ("items", 11_999, "mode") in [m.path for m in misread]  # the last one judged too
    laughs = "a: &a [on, on, on, on, on, on, on, on, on, on]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")
    )
    with pytest.raises(yaml.YAMLError, match="aliases expand this document beyond"):  # 10^8 places: refused
        yaml_misreads.load(laughs, StrictLoader, lambda doc: {})


SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "mode": {"type": "string"},
        "switch": {"enum": ["on", "off"]},
        "level": {"enum": ["low", "high"]},
        "enabled": {"type": "boolean"},
        "anything": {},
        "subnets": {"type": "array", "items": {"type": "object", "properties": {"public": {"type": "boolean"}}}},
    },
    "additionalProperties": False,
}
COMPILED = schema.validator(SCHEMA)


def _misread(text: str, typed=None) -> dict[str, str]:
    typed = typed or {("config",): lambda value: schema.errors(COMPILED, value)}
    data, node = yaml_misreads.compose(text, StrictLoader)
    found = yaml_misreads.misread_booleans(yaml_misreads.booleans_read(node), data, typed)
    return {yaml_misreads.dotted(m.path): m.problem() for m in found}


def test_a_boolean_a_string_field_refuses_says_why_and_how_to_write_the_text():
    said = _misread("config:\n  mode: on\n  switch: off\n")
    assert said == {
        "config.mode": "YAML reads on (unquoted) as the boolean true, which mode does not take (Not a valid "
        "string.): quote it ('on') to mean the text",
        "config.switch": "YAML reads off (unquoted) as the boolean false, which switch does not take (Must be "
        "one of: on, off.): quote it ('off') to mean the text",
    }


def test_each_boolean_finds_its_section_without_scanning_them_all():
    """A seed has two typed sections a component; each boolean found its own by sorting all of them (3,000
    components with one boolean each: 3.3 s more to read the file). It is looked up by its path's
    prefixes: the sections are never iterated."""

    class Sections(dict):
        def __iter__(self):
            raise AssertionError("the typed sections were scanned")

        def keys(self):
            raise AssertionError("the typed sections were scanned")

    typed = Sections({("components", i, "config"): lambda value: schema.errors(COMPILED, value) for i in range(3)})
    said = _misread("components:\n" + "  - config: {enabled: yes, mode: on}\n" * 3, typed)
    assert list(said) == [f"components[{i}].config.mode" for i in range(3)]


def test_a_field_that_takes_neither_says_so_without_a_way_that_fails_too():
    (said,) = _misread("config:\n  level: on\n").values()
    assert said == (
        "YAML reads on (unquoted) as the boolean true, which level does not take, nor the text 'on' (Must be "
        "one of: low, high.)"
    )


def test_a_boolean_field_takes_every_spelling_as_meant():
    assert _misread("config:\n  enabled: yes\n  subnets: [{public: On}, {public: TRUE}]\n") == {}
    for word in BOOLEANS:
        assert _misread(f"config: {{enabled: {word}}}\n") == {}, word


def test_a_field_of_any_type_refuses_yes_no_on_off_with_both_ways_out_and_takes_true_false():
    said = _misread("config:\n  anything: no\n")
    assert said == {
        "config.anything": "YAML reads no (unquoted) as the boolean false, and anything takes either: write "
        "false to mean the boolean, or quote it ('no') to mean the text"
    }
    for word in ("true", "True", "FALSE"):  # booleans in YAML 1.2 too: as written
        assert _misread(f"config: {{anything: {word}}}\n") == {}
    untyped = _misread("assume: {x: on, y: true}\n", {("assume",): None})
    assert list(untyped) == ["assume.x"] and "write true to mean the boolean, or quote it ('on')" in untyped["assume.x"]


def test_a_boolean_in_karmas_own_fields_or_a_key_is_refused_as_text():
    said = _misread("reason: yes\nconfig:\n  on: 1\n")
    assert said == {
        "reason": "YAML reads yes (unquoted) as the boolean true, and this field takes text: quote it ('yes') to "
        "mean the text",
        "config.on": "YAML reads on (unquoted) as the boolean true, and a key is text: quote it ('on') to mean "
        "the text",
    }


def test_an_alias_is_judged_where_it_is_used():
    said = _misread("base: &b on\nconfig:\n  enabled: *b\n  mode: *b\n", {("config",): _validate})
    assert list(said) == ["base", "config.mode"]  # `enabled: *b` is true, as meant; `base` no config field


def _validate(value):
    return schema.errors(COMPILED, value)


# -- the entry points: a change file, the console's form, a seed file ------------------------------------


VPC_TYPES = {"types": [{"name": "vpc", "config_schema": SCHEMA}]}


def test_a_change_file_judges_its_booleans_against_the_type_the_service_serves(tmp_path: Path):
    asked = []

    def types():
        asked.append(1)
        return VPC_TYPES

    path = tmp_path / "change.yaml"
    path.write_text("component: vpc/a\nproposed_change:\n  mode: on\n  enabled: yes\n")
    with pytest.raises(BodyError) as refused:
        read_file(path, _change_sections("vpc/a", served_validators(types)))
    assert str(refused.value) == (
        f"{path}: proposed_change.mode: YAML reads on (unquoted) as the boolean true, which mode does not take "
        "(Not a valid string.): quote it ('on') to mean the text"
    )
    path.write_text("changes:\n  - {op: create, component: vpc/b, environment: dev, config: {anything: off}}\n")
    with pytest.raises(BodyError, match=r"changes\[0\]\.config\.anything: YAML reads off \(unquoted\)"):
        read_file(path, _change_sections(None, served_validators(types)))
    path.write_text("mode: 'on'\nenabled: yes\n")  # just the patch, quoted where the text is meant
    assert read_file(path, _change_sections("vpc/a", served_validators(types))) == {"mode": "on", "enabled": True}
    path.write_text("mode: text\n")
    assert read_file(path, _change_sections("vpc/a", served_validators(lambda: pytest.fail("asked")))) == {
        "mode": "text"
    }
    assert len(asked) == 3  # once per file holding a boolean; never for one without


def _change_sections(component, validator_of):
    from app.client.body import change_sections

    return change_sections(component, validator_of)


def test_a_change_typed_in_the_console_is_judged_against_the_registered_type():
    with pytest.raises(Unprocessable) as refused:
        parse_body("component: vpc/karma-dev\nproposed_change:\n  tags: {Backup: on}\n  enable_ssm_endpoints: yes\n")
    assert refused.value.errors["body"] == [
        "proposed_change.tags.Backup: YAML reads on (unquoted) as the boolean true, which tags.Backup does not "
        "take (Not a valid string.): quote it ('on') to mean the text"
    ]
    parsed = parse_body("component: vpc/karma-dev\nproposed_change:\n  enable_ssm_endpoints: yes\n")
    assert parsed["proposed_change"] == {"enable_ssm_endpoints": True}


def test_a_seed_file_is_judged_against_each_components_type(tmp_path: Path):
    path = tmp_path / "world.yaml"
    path.write_text(
        "components:\n"
        "  - id: vpc/a\n    environment: dev\n"
        "    config: {cidr: 10.0.0.0/16, enable_ssm_endpoints: yes, tags: {Backup: off}}\n"
        "  - id: route53-zone/z\n    environment: dev\n    config: {zone_name: z.dev, root_records: on}\n"
    )
    with pytest.raises(SeedError) as refused:
        read_seed(path)
    assert refused.value.errors == [
        f"{path}: components[0] (vpc/a): config.tags.Backup: YAML reads off (unquoted) as the boolean false, "
        "which tags.Backup does not take (Not a valid string.): quote it ('off') to mean the text",
        f"{path}: components[1] (route53-zone/z): config.root_records: YAML reads on (unquoted) as the boolean "
        "true, and root_records takes either: write true to mean the boolean, or quote it ('on') to mean the text",
    ]


RULE_TESTS = """\
fixture:
  components:
    - {id: vpc/a, environment: dev, config: {cidr: 10.0.0.0/16, enable_ssm_endpoints: yes, tags: {Backup: off}}}
cases:
  - name: x
    at: on
    assume: {runtime: {vpc/a: {vpc_id: on, has_nat: yes}}}
    change: {component: vpc/a, proposed_change: {tags: {Env: on}, enable_ssm_endpoints: no}, requested_by: a@b.c}
    expect:
      includes: [{rule: r, message: yes}]
      remedies: [{rule: r, changes: [{op: update, component: vpc/a, proposed_change: {tags: {Env: On}}}]}]
  - name: y
    fixture: {components: [{id: vpc/b, environment: dev, config: {cidr: 10.0.0.0/16, tags: {X: no}}}]}
    changes: [{op: create, component: vpc/c, environment: dev, config: {cidr: 10.1.0.0/16, tags: {Y: yes}}}]
    change: {requested_by: a@b.c}
    expect: {status: applied}
"""


def test_a_rule_test_file_is_judged_as_a_seed_and_a_change_file_are(tmp_path: Path):
    """A rule-test file took an unquoted yes/no/on/off silently as a boolean: a fixture's `Backup: off`,
    a change's `Env: on`, an expected message `yes` (the pattern "True"). Its fixtures are judged as a seed's
    components, its changes (and an expected remedy's) as a change file's, `assume`'s runtime against the
    runtime schema, everything else as text — with the same message as those files."""
    path = tmp_path / "cases.yaml"
    path.write_text(RULE_TESTS)
    with pytest.raises(CaseFileError) as refused:
        read_cases(path)
    string = "which {} does not take (Not a valid string.): quote it ('{}') to mean the text"
    text = "and this field takes text: quote it ('{}') to mean the text"
    said = {
        "fixture.components[0].config.tags.Backup": ("off", "false", string.format("tags.Backup", "off")),
        "cases[0].at": ("on", "true", text.format("on")),
        "cases[0].assume.runtime.vpc/a.vpc_id": ("on", "true", string.format("vpc_id", "on")),
        "cases[0].change.proposed_change.tags.Env": ("on", "true", string.format("tags.Env", "on")),
        "cases[0].expect.includes[0].message": ("yes", "true", text.format("yes")),
        "cases[0].expect.remedies[0].changes[0].proposed_change.tags.Env": (
            "On",
            "true",
            string.format("tags.Env", "On"),
        ),
        "cases[1].fixture.components[0].config.tags.X": ("no", "false", string.format("tags.X", "no")),
        "cases[1].changes[0].config.tags.Y": ("yes", "true", string.format("tags.Y", "yes")),
    }
    assert refused.value.errors == [
        f"{path}: {where}: YAML reads {word} (unquoted) as the boolean {value}, {why}"
        for where, (word, value, why) in said.items()
    ]
    quoted = RULE_TESTS.replace("at: on", "at: 2026-12-01T10:00:00Z")
    for unquoted in ("Backup: off", "vpc_id: on", "Env: on", "message: yes", "Env: On", "X: no", "Y: yes"):
        key, word = unquoted.split(": ")
        quoted = quoted.replace(unquoted, f"{key}: '{word}'")
    path.write_text(quoted)
    cases = read_cases(path)  # a boolean only a boolean fits (enable_ssm_endpoints, has_nat) stands
    assert cases[0].change["proposed_change"] == {"tags": {"Env": "on"}, "enable_ssm_endpoints": False}
    assert cases[0].assume == {"runtime": {"vpc/a": {"vpc_id": "on", "has_nat": True}}}
