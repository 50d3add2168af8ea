"""Every reader of YAML an operator writes refuses a number YAML 1.1 reads otherwise than written (017 is
15, 1:30 is 90, 0x1F is 31, 1_000 is 1000), naming where, as the rule and seed loaders do (app.yaml_misreads):
a change file (karma request -f), a change typed in the console, a rule-test file, the notifications file
and a component type file. Each read the value silently as that other number."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.client.body import BodyError, read_file
from app.components.loader import _read_yaml
from app.console.work import parse_body
from app.errors import Unprocessable
from app.notifications.subscriptions import SubscriptionFileError, load_file
from app.ruletools.cases import CaseFileError, read_cases
from app.seeding import SeedError
from app.seeding import read_file as read_seed

CHANGE = "component: vpc/karma-dev\nproposed_change:\n  az_count: 017\n"


def test_a_change_file(tmp_path: Path):
    path = tmp_path / "change.yaml"
    path.write_text(CHANGE)
    with pytest.raises(
        BodyError, match=r"proposed_change\.az_count: YAML reads 017 \(unquoted\) as the octal number 15"
    ):
        read_file(path)


def test_a_change_typed_in_the_console():
    with pytest.raises(Unprocessable) as refused:
        parse_body("component: vpc/karma-dev\nproposed_change:\n  window: 1:30\n")
    assert "proposed_change.window: YAML reads 1:30 (unquoted) as the base-60" in refused.value.errors["body"][0]


def test_a_rule_test_file(tmp_path: Path):
    path = tmp_path / "cases.yaml"
    path.write_text("cases:\n  - name: x\n    change: {component: vpc/a, proposed_change: {az_count: 0x10}}\n")
    with pytest.raises(CaseFileError) as refused:
        read_cases(path)
    assert "cases[0].change.proposed_change.az_count: YAML reads 0x10 (unquoted) as the hexadecimal" in str(
        refused.value
    )


def test_the_notifications_file(tmp_path: Path):
    path = tmp_path / "notifications.yaml"
    path.write_text("subscriptions:\n  - id: a\n    url: http://127.0.0.1:9/x\n    max_attempts: 1_000\n")
    with pytest.raises(SubscriptionFileError, match=r"subscriptions\[0\]\.max_attempts: YAML reads 1_000"):
        load_file(path)


def test_a_component_type_file(tmp_path: Path):
    path = tmp_path / "thing.yaml"
    path.write_text("type: thing\nconfig_schema:\n  properties:\n    port: {maximum: 017}\n")
    errors: list[str] = []
    assert _read_yaml(path, errors) is None
    assert errors and "config_schema.properties.port.maximum: YAML reads 017" in errors[0]


def test_the_notifications_file_judges_yaml_11_booleans(tmp_path: Path):
    """An unquoted `on` in a text field (a description) was the boolean true, refused as "a string of at
    most 500 characters"; in the endpoint, "must be an http(s) URL". It is refused as seed and rule files
    refuse one (app.yaml_misreads), naming the field and how to write the text; `enabled: yes` stands."""
    path = tmp_path / "notifications.yaml"
    sub = "subscriptions:\n  - id: a\n    url: http://127.0.0.1:9/x\n    secret: 0123456789abcdef\n    events: [applied]\n"
    path.write_text(sub + "    description: on\n")
    with pytest.raises(SubscriptionFileError) as refused:
        load_file(path)
    assert str(refused.value) == (
        f"{path}: subscriptions[0].description: YAML reads on (unquoted) as the boolean true, and this field "
        "takes text: quote it ('on') to mean the text"
    )
    path.write_text(sub + "    enabled: no\n    description: 'on'\n")
    assert [(s["enabled"], s["description"]) for s in load_file(path)] == [(False, "on")]


def test_a_component_type_file_judges_yaml_11_booleans(tmp_path: Path):
    """An unquoted `on` in a text field (`action: on`) was the boolean true, refused as a bare "required, a
    word like 'redeploy'"; `description: yes` likewise. Refused as seed files refuse one, naming the field;
    `inferred: yes` (a boolean) stands, and a runtime output's schema takes true/false as written."""
    path = tmp_path / "thing.yaml"
    path.write_text("description: yes\naction: on\nconfig_schema: thing.schema.json\n")
    errors: list[str] = []
    assert _read_yaml(path, errors) is None
    assert errors == [
        f"{path}: description: YAML reads yes (unquoted) as the boolean true, and this field takes text: quote "
        "it ('yes') to mean the text",
        f"{path}: action: YAML reads on (unquoted) as the boolean true, and this field takes text: quote it "
        "('on') to mean the text",
    ]
    path.write_text("action: 'on'\ninferred: yes\nruntime_outputs:\n  up: {type: boolean, default: false}\n")
    assert _read_yaml(path, errors := []) == {
        "action": "on",
        "inferred": True,
        "runtime_outputs": {"up": {"type": "boolean", "default": False}},
    }
    assert errors == []


def test_plain_numbers_and_quoted_text_pass(tmp_path: Path):
    path = tmp_path / "change.yaml"
    path.write_text("component: vpc/karma-dev\nproposed_change:\n  az_count: 17\n  window: '1:30'\n  n: 1.5\n")
    assert read_file(path)["proposed_change"] == {"az_count": 17, "window": "1:30", "n": 1.5}


@pytest.mark.parametrize(
    "written,read_as",
    [(".nan", "NaN"), ("-.inf", "-infinity"), ("1.0e+400", "infinity (beyond a 64-bit float's range)")],
)
def test_nan_and_infinity_are_refused_by_every_reader(tmp_path: Path, written, read_as):
    """YAML 1.1 reads `.nan`, `.inf` and `1.0e+400` as NaN and infinity, which JSON has no number for: a YAML
    seed or change file loaded them as floats (stored, a text no JSON reader takes back), as a JSON one did
    with NaN and 1e400 (app.json_strict). Refused as the other misread numbers are, naming the field."""
    said = f"YAML reads {written} (unquoted) as {read_as}, which JSON has no number for: quote it ('{written}')"
    change = tmp_path / "change.yaml"
    change.write_text(f"component: vpc/karma-dev\nproposed_change:\n  az_count: {written}\n")
    with pytest.raises(BodyError, match=re.escape(f"proposed_change.az_count: {said}")):
        read_file(change)
    seed = tmp_path / "world.yaml"
    seed.write_text(f"components:\n  - {{id: vpc/a, environment: dev, config: {{az_count: {written}}}}}\n")
    with pytest.raises(SeedError, match=re.escape(f"components[0] (vpc/a): config.az_count: {said}")):
        read_seed(seed)
    with pytest.raises(Unprocessable) as refused:
        parse_body(change.read_text())
    assert f"proposed_change.az_count: {said}" in refused.value.errors["body"][0]


DUPLICATED = "component: vpc/karma-dev\nproposed_change:\n  az_count: 3\n  az_count: 2\n"


def test_a_duplicated_key_is_refused_by_every_reader(tmp_path: Path):
    """PyYAML keeps the last of two equal keys without a word, so a file meant half of what it said. Every
    reader uses the one strict loader (app.yaml_strict), as rule files always did."""
    change = tmp_path / "change.yaml"
    change.write_text(DUPLICATED)
    with pytest.raises(BodyError, match=r"duplicate key 'az_count' \(first at line 3\)"):
        read_file(change)
    with pytest.raises(Unprocessable) as refused:
        parse_body(DUPLICATED)
    assert "duplicate key 'az_count'" in refused.value.errors["body"][0]
    notifications = tmp_path / "notifications.yaml"
    notifications.write_text("subscriptions:\n  - id: a\n    id: b\n    url: http://127.0.0.1:9/x\n")
    with pytest.raises(SubscriptionFileError, match="duplicate key 'id'"):
        load_file(notifications)
    seed = tmp_path / "world.yaml"
    seed.write_text("components:\n  - id: vpc/a\n    config: {}\n    config: {cidr_block: 10.0.0.0/16}\n")
    with pytest.raises(SeedError, match="duplicate key 'config'"):
        read_seed(seed)
    thing = tmp_path / "thing.yaml"
    thing.write_text("type: thing\ntype: other\n")
    errors: list[str] = []
    assert _read_yaml(thing, errors) is None and "duplicate key 'type'" in errors[0]


def test_a_merged_key_written_again_is_yamls_override_not_a_duplicate():
    """`<<: *base` then `mode: x` overrides base's `mode`, as YAML's merge key means; the strict loader called
    it a duplicate key. A key written twice beside a merge is still one."""
    import yaml

    from app.yaml_strict import StrictLoader

    text = "base: &base {mode: a, size: 1}\nthing:\n  <<: *base\n  mode: b\n"
    assert yaml.load(text, Loader=StrictLoader)["thing"] == {"mode": "b", "size": 1}  # noqa: S506 - a safe loader
    from app import yaml_misreads

    data, node = yaml_misreads.compose("base: &base {mode: on}\nthing:\n  <<: *base\n  mode: x\n", StrictLoader)
    assert data["thing"] == {"mode": "x"}  # the overridden `on` is no boolean the data holds there
    assert [w.path for w in yaml_misreads.booleans_read(node)] == [("base", "mode")]
    with pytest.raises(yaml.YAMLError, match="duplicate key 'mode'"):
        yaml.load(text + "  mode: c\n", Loader=StrictLoader)  # noqa: S506 - a safe loader


def _unreadable(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """A file an operator may name by mistake, and what each reader must say about it."""
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"az_count: 3\nname: caf\xe9\n")
    return {
        "missing": (tmp_path / "nope.yaml", r"nope\.yaml: cannot read: No such file or directory"),
        "directory": (tmp_path, r": is a directory: give a file"),
        "not UTF-8": (latin, r"latin\.yaml: not UTF-8 text \(byte 0xe9 on line 2\): save it as UTF-8"),
    }


def test_a_file_that_cannot_be_read_is_refused_in_one_sentence_by_every_reader(tmp_path: Path):
    """`karma plan -f`, `karma seed`, `karma rules test` and `karma cypher FILE` of a missing file, a
    directory or a Latin-1 file each ended in a Python traceback (FileNotFoundError, IsADirectoryError,
    UnicodeDecodeError); each is now its reader's own refusal, naming the file (app.yaml_strict.read_text)."""
    from app.graph.library import parse
    from app.yaml_strict import UnreadableFile

    for path, said in _unreadable(tmp_path).values():
        with pytest.raises(BodyError, match=said):
            read_file(path)
        with pytest.raises(SeedError, match=said):
            read_seed(path)
        with pytest.raises(CaseFileError, match=said):
            read_cases(path)
        with pytest.raises(UnreadableFile, match=said):
            parse(path)


def test_an_empty_change_file_says_it_is_empty(tmp_path: Path):
    path = tmp_path / "change.yaml"
    path.write_text("")
    with pytest.raises(BodyError, match=r"change\.yaml: is empty: expected an object"):
        read_file(path)


# YAML 1.1 reads an unquoted 2026-12-24 as a date (and 2026-12-24T10:00:00Z as a date-time), which JSON has
# no type for: a seed's or a change's `tags: {Expires: 2026-12-24}` reached json.dumps as a date object — a
# traceback from `karma rules test` (a fixture), or a string field's bare "Not a valid string.".
DATE = (
    "YAML reads 2026-12-24 (unquoted) as a date, which JSON has no type for: quote it ('2026-12-24') to mean the text"
)


def test_a_date_yaml_reads_is_refused_by_every_reader_where_no_date_is_meant(tmp_path: Path):
    change = tmp_path / "change.yaml"
    change.write_text("component: route53-zone/z\nproposed_change:\n  root_records: 2026-12-24\n")
    with pytest.raises(BodyError) as refused:
        read_file(change)
    assert str(refused.value) == f"{change}: proposed_change.root_records: {DATE}"
    with pytest.raises(Unprocessable) as refused:
        parse_body("component: vpc/karma-dev\nproposed_change:\n  tags: {Expires: 2026-12-24T10:00:00Z}\n")
    assert refused.value.errors["body"] == [
        "proposed_change.tags.Expires: YAML reads 2026-12-24T10:00:00Z (unquoted) as a date-time, which JSON has "
        "no type for: quote it ('2026-12-24T10:00:00Z') to mean the text"
    ]
    seed = tmp_path / "world.yaml"
    seed.write_text("components:\n  - id: vpc/a\n    environment: dev\n    config: {tags: {2026-12-24: x}}\n")
    with pytest.raises(SeedError) as refused:
        read_seed(seed)
    assert refused.value.errors == [f"{seed}: components[0] (vpc/a): config.tags.2026-12-24: {DATE}"]


def test_a_rule_test_file_takes_a_date_only_where_it_is_the_request_time(tmp_path: Path):
    path = tmp_path / "cases.yaml"
    path.write_text(
        "fixture:\n  components:\n    - {id: route53-zone/z, environment: dev, config: {zone_name: z, root_records: &d 2026-12-24}}\n"
        "at: 2026-12-01T10:00:00+01:00\n"
        "cases:\n  - name: x\n    at: *d\n"
        "    change: {component: route53-zone/z, proposed_change: {root_records: *d}, requested_by: a@b.c}\n"
        "    expect: {status: applied}\n"
    )
    with pytest.raises(CaseFileError) as refused:
        read_cases(path)
    assert refused.value.errors == [
        f"{path}: fixture.components[0].config.root_records: {DATE}",
        f"{path}: cases[0].change.proposed_change.root_records: {DATE}",
    ]  # an alias is judged where it lands: `at: *d` is the request time, as meant


def test_a_rule_file_takes_a_date_only_in_a_time_sections_date(tmp_path: Path):
    from app.policy import validate_dir

    rule = (
        "rules:\n  - id: a\n    description: d\n    effect: block\n    message: m\n"
        "    when:\n      time: {zone: UTC, date: {between: [2026-12-24, 2026-12-26]}}\n"
        "      change: {new.expires: {ne: 2026-12-24}}\n"
        "    remedies:\n      - description: d\n        changes:\n"
        "          - {op: update, component: vpc/a, proposed_change: {expires: 2026-12-31}}\n"
    )
    (tmp_path / "x.yaml").write_text(rule)
    assert validate_dir(tmp_path) == [
        f"{tmp_path / 'x.yaml'}: rules[0].when.change.new.expires.ne: {DATE}",
        f"{tmp_path / 'x.yaml'}: rules[0].remedies[0].changes[0].proposed_change.expires: "
        + DATE.replace("2026-12-24", "2026-12-31"),
    ]


def _laughs(levels: int = 9) -> str:
    """A billion laughs: nine levels of ten aliases each, 10^9 values from a few hundred bytes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n    ".join(lines)


def test_aliases_that_multiply_a_document_are_refused_by_every_reader(tmp_path: Path):
    """A text whose aliases expand it a billionfold was read as data with shared references, and whatever
    walked it next — the change's validation behind the console's form, json.dumps, the rule parser —
    expanded it: a worker busy for good. yaml_misreads.compose refuses a document that expands beyond
    max(1,000,000, 16 × its length) values, as the YAML error it is, naming where."""
    import time

    from app.policy import validate_dir

    said = "aliases expand this document beyond 1000000 values"
    started = time.monotonic()
    with pytest.raises(Unprocessable) as refused:
        parse_body(f"component: route53-zone/karma-dev\nproposed_change:\n  root_records:\n    {_laughs()}\n")
    assert said in refused.value.errors["body"][0]
    change = tmp_path / "change.yaml"
    change.write_text(f"component: route53-zone/z\nproposed_change:\n  root_records:\n    {_laughs()}\n")
    with pytest.raises(BodyError, match=said):
        read_file(change)
    seed = tmp_path / "world.yaml"
    seed.write_text(f"components: []\nx:\n    {_laughs()}\n")
    with pytest.raises(SeedError, match=said):
        read_seed(seed)
    cases = tmp_path / "cases.yaml"
    cases.write_text(f"cases: []\nx:\n    {_laughs()}\n")
    with pytest.raises(CaseFileError, match=said):
        read_cases(cases)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "x.yaml").write_text(f"x:\n    {_laughs()}\nrules: []\n")
    assert said in validate_dir(tmp_path / "rules")[0]
    assert time.monotonic() - started < 5


def test_a_document_that_shares_by_aliases_as_documents_do_is_read():
    """Merges and aliases as seeds use them — a base every component merges — expand a document a few
    times, far below the bound."""
    from app.yaml_strict import StrictLoader
    from app import yaml_misreads

    text = (
        "base: &b {"
        + ", ".join(f"k{i}: {i}" for i in range(20))
        + "}\ncomponents:\n"
        + "".join(f"  - {{<<: *b, id: c{i}}}\n" for i in range(5000))
    )
    data, _misread = yaml_misreads.load(text, StrictLoader)
    assert len(data["components"]) == 5000 and data["components"][4999]["k19"] == 19
