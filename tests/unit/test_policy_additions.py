"""The rule-language additions: time windows, counts over the impact, paths, field against field, overlaps.

Each is evaluated through durable_rules (counts and overlaps are derived first, then compared in durable),
with an injected clock so time conditions are deterministic.
"""

from __future__ import annotations

import textwrap
from datetime import datetime, timezone

import pytest
import yaml

from app.policy import PolicyEngine, validate_dir
from app.ruletools.oracle import decisions as oracle_decisions
from test_policy_semantics import CONDITIONS, MISSING, VALUES, oracle
from test_policy_support import BASTION, SUBNET, change, component, engine_for, facts, impacted, rule_yaml, sibling


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def ids(engine: PolicyEngine, fact_list, now=None) -> list[tuple[str, str]]:
    return [(d.rule_id, d.component) for d in engine.evaluate(fact_list, now=now)]


def problems(tmp_path, when: str, message: str = "m") -> list[str]:
    (tmp_path / "x.yaml").write_text(rule_yaml(when, message=message))
    prefix = f"{tmp_path / 'x.yaml'}: "
    return [p.removeprefix(prefix) for p in validate_dir(tmp_path)]


# ------------------------------------------------------------------------------------------------ time
FRIDAY_FREEZE = """
change: {environment: prod}
time:
  zone: Europe/Paris
  weekday: fri
  clock: {gte: "15:00"}
"""


def test_a_friday_afternoon_window_in_a_named_zone(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            FRIDAY_FREEZE,
            rule_id="fri",
            effect="block",
            message="{time.Europe/Paris.weekday} {time.Europe/Paris.clock}",
        ),
    )
    prod = facts(change(environment="prod"))
    # 2026-12-04 is a Friday; Paris is UTC+1 in December
    assert ids(engine, prod, at("2026-12-04T14:00:00+00:00")) == [("fri", SUBNET)]  # 15:00 Paris
    assert ids(engine, prod, at("2026-12-04T13:59:00+00:00")) == []  # 14:59 Paris
    assert ids(engine, prod, at("2026-12-04T23:30:00+00:00")) == []  # Saturday 00:30 Paris
    assert ids(engine, prod, at("2026-12-04T07:00:00-08:00")) == [("fri", SUBNET)]  # 07:00 in LA, 16:00 Paris
    assert ids(engine, facts(change(environment="dev")), at("2026-12-04T14:00:00+00:00")) == []
    [decision] = engine.evaluate(prod, now=at("2026-12-04T16:45:00+00:00"))
    assert decision.message == "fri 17:45"  # as a rule writes a clock, not the number it compares


def test_the_clock_defaults_to_now_and_naive_times_are_utc(tmp_path):
    engine = engine_for(tmp_path, rule_yaml("time: {zone: UTC, hour: {between: [0, 23]}}", rule_id="always"))
    assert ids(engine, facts()) == [("always", SUBNET)]
    engine = engine_for(tmp_path, rule_yaml("time: {zone: UTC, hour: 10}", rule_id="ten"))
    assert ids(engine, facts(), datetime(2026, 12, 1, 10, 5)) == [("ten", SUBNET)]
    assert ids(engine, facts(), datetime(2026, 12, 1, 10, 5, tzinfo=timezone.utc)) == [("ten", SUBNET)]


def test_date_ranges_and_a_yearly_freeze_that_wraps_new_year(tmp_path):
    engine = engine_for(
        tmp_path,
        """
        rules:
          - id: freeze
            description: year-end freeze, every year
            effect: block
            when:
              time: {zone: Europe/Paris, month_day: {between: [12-20, 01-03]}}
            message: frozen
          - id: migration
            description: one date range
            effect: warn
            when:
              time: {zone: UTC, date: {between: [2026-12-01, 2026-12-02]}}
            message: migration
          - id: night
            description: hours that wrap midnight
            effect: warn
            when:
              time: {zone: UTC, hour: {between: [22, 5]}, not: {weekday: [sat, sun]}}
            message: night
        """,
    )

    def fired(text):
        return sorted(r for r, _ in ids(engine, facts(), at(text)))

    assert fired("2026-12-18T22:59:00+00:00") == ["night"]  # Friday 23:59 in Paris, the 18th
    assert fired("2026-12-19T22:59:00+00:00") == []  # Saturday: no night rule
    assert fired("2026-12-19T23:00:00+00:00") == ["freeze"]  # 00:00 Paris, the 20th
    assert fired("2027-01-03T12:00:00+00:00") == ["freeze"]
    assert fired("2027-01-04T23:00:00+00:00") == ["night"]  # Monday; the 5th in Paris
    assert fired("2026-12-02T03:00:00+00:00") == ["migration", "night"]
    assert fired("2026-12-03T12:00:00+00:00") == []


@pytest.mark.parametrize(
    "when,expected",
    [
        ("time: {hour: 3}", "rules[0].when.time.zone: missing (required: the IANA time zone"),
        ("time: {zone: Mars/Olympus, hour: 3}", "rules[0].when.time.zone: unknown time zone 'Mars/Olympus'"),
        ("time: {zone: Europe/Pariss, hour: 3}", "(did you mean 'Europe/Paris'?)"),
        # the zone database of a Debian host lists its /etc/localtime as a zone: a rule naming it decided
        # by the machine's clock setting (UTC here, Paris on the next host), which no IANA name does
        (
            "time: {zone: localtime, hour: 3}",
            "rules[0].when.time.zone: time zone 'localtime' is this machine's own setting, not an IANA zone",
        ),
        ("time: {zone: posixrules, hour: 3}", "rules[0].when.time.zone: time zone 'posixrules' is this machine's"),
        ("time: {zone: UTC}", "rules[0].when.time: expected at least one time condition"),
        ("time: {zone: UTC, weekday: friday-ish}", "rules[0].when.time.weekday: expected a weekday"),
        ("time: {zone: UTC, hour: 24}", "rules[0].when.time.hour: expected an integer 0-23, got 24"),
        (
            "time: {zone: UTC, clock: {gte: 15:00}}",
            "rules[0].when.time.clock.gte: YAML reads 15:00 (unquoted) as the base-60 (sexagesimal) number 900: "
            "quote it ('15:00') to mean the text",
        ),
        (
            "time: {zone: UTC, date: {between: [2027-01-03, 2026-12-20]}}",
            "rules[0].when.time.date.between: from 2027-01-03 is after to 2026-12-20",
        ),
        ("time: {zone: UTC, month_day: 02-30}", "rules[0].when.time.month_day: expected a day of the year"),
        ("time: {zone: UTC, weekday: {lt: fri}}", "rules[0].when.time.weekday.lt: operator lt does not apply"),
        ("time: {zone: UTC, hours: 3}", "rules[0].when.time.hours: unknown field (did you mean 'hour'?)"),
        ("change: {affected_count: {between: [1, 2]}}", "between applies to time fields only"),
    ],
)
def test_time_validation(tmp_path, when, expected):
    found = problems(tmp_path, when)
    assert len(found) == 1 and expected in found[0], found


def test_time_placeholders_are_checked(tmp_path):
    found = problems(tmp_path, "time: {zone: UTC, hour: 3}", message="{time.Nowhere.hour}")
    assert "unknown placeholder {time.Nowhere.hour}: unknown time zone 'Nowhere'" in found[0]
    found = problems(tmp_path, "time: {zone: UTC, hour: 3}", message="{time.UTC.hours}")
    assert "unknown placeholder {time.UTC.hours}: unknown field (did you mean 'hour'?)" in found[0]


# ------------------------------------------------------------------------------------------------ count
RUNNING = """
count:
  name: running
  impacted: {type: ec2-instance, runtime.state: running}
  gt: 3
"""


def _instances(n_running: int, n_stopped: int = 1) -> list[dict]:
    rows = [impacted(f"ec2-instance/i{i}") for i in range(n_running)]
    rows += [impacted(f"ec2-instance/s{i}", runtime={"state": "stopped"}) for i in range(n_stopped)]
    return rows + [impacted("lambda/l", runtime={"state": "running"})]


def test_count_impacted_components_matching_a_filter(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(RUNNING, rule_id="many", effect="block", message="{count.running} running: {count.running.ids}"),
    )
    assert ids(engine, facts(rows=_instances(3))) == []
    [d] = engine.evaluate(facts(rows=_instances(4)))
    assert (d.rule_id, d.component, d.effect) == ("many", SUBNET, "block")
    assert d.message == "4 running: ec2-instance/i0, ec2-instance/i1, ec2-instance/i2, ec2-instance/i3"


def test_counts_combine_with_impacted_and_refer_to_the_change(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            """
        change: {environment: dev}
        count: {impacted: {environment: {ne: {field: change.environment}}}, gte: 1}
        impacted: {environment: prod}
        """,
            rule_id="cross",
            message="{impacted.id}",
        ),
    )
    rows = [impacted("lambda/a"), impacted("lambda/p", environment="prod")]
    assert ids(engine, facts(rows=rows)) == [("cross", "lambda/p")]
    assert ids(engine, facts(rows=rows[:1])) == []


@pytest.mark.parametrize("value_name", list(VALUES))
def test_count_filters_mean_what_conditions_mean(tmp_path, value_name):
    """The operator table of test_policy_semantics, inside count filters (evaluated before the engine)."""
    rules = [
        {
            "id": f"c{i}",
            "description": "d",
            "effect": "warn",
            "message": "m",
            "when": {"count": {"impacted": {"runtime.x": {op: operand}}, "gte": 1}},
        }
        for i, (op, operand) in enumerate(CONDITIONS)
    ]
    rules += [
        {
            "id": f"n{i}",
            "description": "d",
            "effect": "warn",
            "message": "m",
            "when": {"count": {"impacted": {"not": {"runtime.x": {op: operand}}}, "gte": 1}},
        }
        for i, (op, operand) in enumerate(CONDITIONS)
    ]
    (tmp_path / "ops.yaml").write_text(yaml.safe_dump({"rules": rules}))
    engine = PolicyEngine(tmp_path)
    engine.load()
    value = VALUES[value_name]
    row = impacted("lambda/x", runtime={} if value is MISSING else {"x": value})
    got = {d.rule_id for d in engine.evaluate(facts(rows=[row]))}
    expected = {f"c{i}" for i, (op, operand) in enumerate(CONDITIONS) if oracle(op, operand, value)}
    expected |= {f"n{i}" for i, (op, operand) in enumerate(CONDITIONS) if not oracle(op, operand, value)}
    assert got == expected


@pytest.mark.parametrize(
    "when,expected",
    [
        ("count: {gt: 3}", "rules[0].when.count: expected exactly one of impacted or siblings"),
        ("count: {impacted: {type: lambda}}", "rules[0].when.count: expected an operator on the count"),
        ("count: {impacted: {typ: lambda}, gt: 1}", "rules[0].when.count.impacted.typ: unknown field"),
        ("count: {impacted: {type: lambda}, more: 1}", "rules[0].when.count.more: unknown key"),
        ("count: {impacted: {type: lambda}, gt: many}", "rules[0].when.count.gt: expected a number, got string"),
        ("count: {siblings: {depth: 1}, gt: 1}", "rules[0].when.count.siblings.depth: unknown field"),
        ("count: {name: Bad-Name, impacted: {}, gt: 1}", "rules[0].when.count.name: expected a name"),
        (
            "count: {impacted: {environment: {eq: {field: impacted.nope}}}, gt: 1}",
            "rules[0].when.count.impacted.environment.eq.field: impacted.nope: unknown field",
        ),
    ],
)
def test_count_validation(tmp_path, when, expected):
    found = problems(tmp_path, when)
    assert len(found) == 1 and expected in found[0], found


def test_count_placeholders_name_a_count_of_the_rule(tmp_path):
    found = problems(tmp_path, "count: {impacted: {}, gt: 1}", message="{count.running}")
    assert "unknown placeholder {count.running}: no count named 'running' in this rule" in found[0]


# ------------------------------------------------------------------------------------------------ paths
def test_paths_types_and_reference_keys(tmp_path):
    engine = engine_for(
        tmp_path,
        """
        rules:
          - id: through-openapi
            description: reached through an openapi
            effect: warn
            when: {impacted: {path_types: {contains: openapi}}}
            message: "{impacted.id} via {impacted.via}"
          - id: via-bucket-key
            description: reached via s3_bucket_nickname
            effect: warn
            when: {impacted: {via: {contains: s3_bucket_nickname}, type: lambda}}
            message: m
        """,
    )
    bucket = "s3-bucket/karma-shared"
    lam = impacted("lambda/karma-graph-query", origin=bucket, depth=2, path_types=None, via=None)
    lam.update(
        path=[bucket, "openapi/karma-api", "lambda/karma-graph-query"],
        path_types=["s3-bucket", "openapi", "lambda"],
        via=["s3_bucket_nickname", "openapi_nickname"],
    )
    other = impacted("lambda/direct", origin=bucket)
    other.update(path_types=["s3-bucket", "lambda"], via=["s3_bucket_nickname"])
    got = engine.evaluate(facts(rows=[lam, other]))
    assert [(d.rule_id, d.component) for d in got] == [
        ("through-openapi", "lambda/karma-graph-query"),
        ("via-bucket-key", "lambda/direct"),
        ("via-bucket-key", "lambda/karma-graph-query"),
    ]
    assert got[0].message == "lambda/karma-graph-query via s3_bucket_nickname, openapi_nickname"


# ------------------------------------------------------------------------------------------------ field against field
def test_field_against_field(tmp_path):
    engine = engine_for(
        tmp_path,
        """
        rules:
          - id: same-vpc
            description: impacted config equals the new value
            effect: warn
            when: {impacted: {config.vpc_nickname: {eq: {field: change.new.vpc_nickname}}}}
            message: m
          - id: other-vpc
            description: impacted config differs from the new value
            effect: warn
            when: {impacted: {config.vpc_nickname: {ne: {field: change.new.vpc_nickname}}}}
            message: m
          - id: older
            description: numbers compare as numbers
            effect: warn
            when: {impacted: {version: {lt: {field: component.version}}}}
            message: m
        """,
    )
    ch = change(changed_keys=["vpc_nickname"], old={"vpc_nickname": "a"}, new={"vpc_nickname": "b"})
    rows = [
        impacted("ecs-service/same", config={"vpc_nickname": "b"}, version=7),
        impacted("ecs-service/other", config={"vpc_nickname": "a"}, version=2),
        impacted("ecs-service/unset", config={}, version=3),
    ]
    got = sorted(ids(engine, facts(ch, rows=rows)))
    assert got == [
        ("older", "ecs-service/other"),
        ("other-vpc", "ecs-service/other"),
        ("other-vpc", "ecs-service/unset"),
        ("same-vpc", "ecs-service/same"),
    ]
    # unset on both sides: not equal (eq needs a value), so ne holds
    ch_removed = change(changed_keys=["vpc_nickname"], old={"vpc_nickname": "a"}, new={})
    got = sorted(ids(engine, facts(ch_removed, component(version=1), rows=rows[2:])))
    assert got == [("other-vpc", "ecs-service/unset")]


def test_field_references_compile_to_durable_references(tmp_path):
    from app.policy import loader

    (tmp_path / "x.yaml").write_text(rule_yaml("impacted: {version: {gt: {field: component.version}}}"))
    compiled = loader.build(tmp_path)
    tests = [t for r in compiled.definition.values() for t in r["all"][0]["m"].get("$and", [])]
    assert {"$gt": {"impacted.version:n": {"$m": "component.version:n"}}} in tests


@pytest.mark.parametrize(
    "when,expected",
    [
        ("impacted: {config.x: {eq: {field: impacted.nope}}}", "eq.field: impacted.nope: unknown field"),
        ("impacted: {config.x: {eq: {field: elsewhere.x}}}", "unknown field 'elsewhere.x'"),
        ("impacted: {config.x: {eq: {fields: change.type}}}", "expected a value, or {field: <section.field>}"),
        (
            "impacted: {depth: {lt: {field: change.type}}}",
            "lt cannot compare impacted.depth (an integer field) with change.type (a string field)",
        ),
        ("change: {type: {contains: {field: change.type}}}", "operator contains does not apply"),
    ],
)
def test_field_reference_validation(tmp_path, when, expected):
    found = problems(tmp_path, when)
    assert len(found) == 1 and expected in found[0], found


# ------------------------------------------------------------------------------------------------ overlaps
def test_cidr_overlap_against_sibling_subnets(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            """
        change: {type: subnet, changed_keys: {contains: cidr_block}}
        count:
          name: overlapping
          siblings: {config.cidr_block: {overlaps: {field: change.new.cidr_block}}}
          gte: 1
        """,
            rule_id="overlap",
            effect="reject",
            message="{change.new.cidr_block} overlaps {count.overlapping.ids}",
        ),
    )
    siblings = [
        sibling("subnet/b", cidr_block="10.42.2.0/24"),
        sibling("subnet/c", cidr_block="10.42.0.0/20"),
        sibling("subnet/d", cidr_block="not a cidr"),
        sibling("subnet/e"),
    ]
    ch = change(new={"cidr_block": "10.42.2.128/25"})
    [d] = engine.evaluate(facts(ch, siblings=siblings))
    assert d.message == "10.42.2.128/25 overlaps subnet/b, subnet/c"
    assert ids(engine, facts(change(new={"cidr_block": "10.42.16.0/24"}), siblings=siblings)) == []
    assert ids(engine, facts(change(new={"cidr_block": "10.42.16.0/24"}))) == []


def test_overlaps_outside_a_count(tmp_path):
    engine = engine_for(
        tmp_path,
        """
        rules:
          - id: corporate
            description: a literal list of blocks
            effect: reject
            when: {change: {new.cidr_block: {overlaps: [192.168.0.0/16, 10.0.0.0/8]}}}
            message: m
          - id: outside
            description: negated
            effect: warn
            when: {change: {not: {new.cidr_block: {overlaps: 10.42.0.0/16}}}}
            message: m
          - id: vs-impacted
            description: against another field
            effect: warn
            when: {impacted: {runtime.cidr_block: {overlaps: {field: change.new.cidr_block}}}}
            message: m
        """,
    )

    def fired(cidr, rows=()):
        return sorted(ids(engine, facts(change(new={"cidr_block": cidr}), rows=rows)))

    assert fired("10.42.1.0/24") == [("corporate", SUBNET)]
    assert fired("172.16.0.0/24") == [("outside", SUBNET)]
    assert fired("fd00::/8") == [("outside", SUBNET)]
    row = impacted(runtime={"cidr_block": "172.16.0.0/16"})
    assert fired("172.16.3.0/24", rows=[row]) == [("outside", SUBNET), ("vs-impacted", BASTION)]


@pytest.mark.parametrize(
    "when,expected",
    [
        ("change: {new.cidr_block: {overlaps: 10.0.0.300/8}}", "expected a CIDR block such as 10.0.0.0/16"),
        ("change: {new.cidr_block: {overlaps: []}}", "expected a CIDR block, a non-empty list of them"),
        ("change: {affected_count: {overlaps: 10.0.0.0/8}}", "operator overlaps does not apply"),
        # host bits set: a typo, not silently the network it stands for (it was accepted as 10.1.2.0/24)
        (
            "change: {new.cidr_block: {overlaps: 10.1.2.3/24}}",
            "new.cidr_block.overlaps: 10.1.2.3/24 has host bits set: did you mean 10.1.2.0/24? (or 10.1.2.3 alone)",
        ),
        (
            "change: {new.cidr_block: {overlaps: [10.0.0.0/8, 2001:db8::1/32]}}",
            "overlaps[1]: 2001:db8::1/32 has host bits set: did you mean 2001:db8::/32?",
        ),
    ],
)
def test_overlaps_validation(tmp_path, when, expected):
    found = problems(tmp_path, when)
    assert len(found) == 1 and expected in found[0], found


def test_docs_examples_are_valid(tmp_path):
    """Every ```yaml block in docs/rules.md that holds a whole rule file loads."""
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    files = [b for b in blocks if b.startswith("rules:")]
    assert files
    for i, block in enumerate(files):
        (tmp_path / f"doc{i}.yaml").write_text(textwrap.dedent(block))
    assert validate_dir(tmp_path) == []


def test_block_overlap_means_what_ipaddress_says():
    import ipaddress
    import random

    from app.policy.derive import overlap

    rng = random.Random(21)
    texts = ["10.42.0.0/16", "10.42.1.7/24", "0.0.0.0/0", "255.255.255.255/32", "fd00::/8", "::/0", "::1/128"]
    texts += [f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/{rng.randrange(8, 33)}" for _ in range(60)]
    texts += [f"fd{rng.randrange(256):02x}::/{rng.randrange(8, 129)}" for _ in range(20)]
    nets = {t: ipaddress.ip_network(t, strict=False) for t in texts}
    for a in texts:
        for b in rng.sample(texts, 25):
            expected = nets[a].version == nets[b].version and nets[a].overlaps(nets[b])
            assert overlap(a, b) is expected, (a, b)
    assert overlap(["x", "10.0.0.0/8"], ["10.1.0.0/16", 5]) is True
    assert overlap("not a cidr", "10.0.0.0/8") is False and overlap(None, "10.0.0.0/8") is False


def test_a_count_filter_reads_the_changes_block_once_and_judges_as_holds(monkeypatch):
    from app.policy import derive
    from app.policy.fields import Field
    from app.policy.tree import All, AnyOf, Cmp, FieldRef, Not

    def field(section, *path):
        return Field(section, path, "any")

    against = Cmp(field("siblings", "config", "cidr_block"), "overlaps", FieldRef(field("change", "new", "cidr_block")))
    literal = Cmp(field("siblings", "config", "cidr_block"), "overlaps", ["10.42.0.0/16"])
    trees = [against, Not(against), All((against, literal)), AnyOf((Not(literal), against))]
    values = ["10.42.2.0/24", "10.0.0.0/8", "172.16.0.0/12", "fd00::/8", "nope", None, 7, ["10.42.9.0/24", "x"]]
    rows = [{"id": f"subnet/s{i}", "config": {"cidr_block": v}} for i, v in enumerate(values)] + [{"id": "subnet/z"}]
    for new in ("10.42.2.128/25", "fd00:1::/32", ["10.0.0.0/8"], None):
        base = {"change": {"new": {"cidr_block": new}}, "component": {}}
        for tree in trees:
            test = derive._row_test(tree, base, "siblings")
            assert [test(r) for r in rows] == [derive.holds(tree, {**base, "siblings": r}) for r in rows], (tree, new)
    parsed = []
    real = derive._blocks
    monkeypatch.setattr(derive, "_blocks", lambda value: parsed.append(value) or real(value))
    base = {"change": {"new": {"cidr_block": "10.42.2.128/25"}}, "component": {}}
    test = derive._row_test(against, base, "siblings")
    assert [test({"config": {"cidr_block": f"10.42.{i}.0/24"}}) for i in range(100)].count(True) == 1
    assert parsed == ["10.42.2.128/25"]  # the change's block once, not once per row


def test_a_message_writes_time_fields_as_a_rule_does(tmp_path):
    """clock, date and month_day are compared as numbers (00:05 is 5); a message writes them as a rule
    does, not as those numbers ('clock 5 date 20270103 month_day 103')."""
    message = "clock {time.UTC.clock} date {time.UTC.date} month_day {time.UTC.month_day} hour {time.UTC.hour}"
    engine = engine_for(tmp_path, rule_yaml("time: {zone: UTC, hour: {gte: 0}}", rule_id="when", message=message))
    [decision] = engine.evaluate(facts(), now=at("2027-01-03T00:05:00+00:00"))
    assert decision.message == "clock 00:05 date 2027-01-03 month_day 01-03 hour 0"


# Values whose meaning the docs fix beyond the plain operator table: a number the engine cannot hold counts
# as unset (docs/rules.md, "Conditions"), and a value holding one of the engine's stand-in characters
# U+F0000-U+F005F matches no pattern ("Patterns"). Count filters are evaluated before durable_rules, by
# app.policy.derive: they counted a float beyond 2^63 as set (and as a number), and matched such a value.
EDGE_VALUES = {
    "float-beyond-2^63": 1e19,
    "negative-float-beyond-2^63": -1e19,
    "float-just-beyond-2^63": 9.3e18,
    "stand-in-character": "\U000f0000",
    "text-around-a-stand-in": "a\U000f005fb",
}
EDGE_CONDITIONS = [
    {"exists": True},
    {"exists": False},
    {"empty": True},
    {"gt": 1},
    {"lt": 1},
    {"ne": 1},
    {"matches": ".*"},
    {"matches": "a.b"},
]


@pytest.mark.parametrize("value_name", list(EDGE_VALUES))
def test_count_filters_and_conditions_agree_on_the_documented_edges(tmp_path, value_name):
    rules = []
    for i, cond in enumerate(EDGE_CONDITIONS):
        for kind, when in (
            ("inline", {"impacted": {"runtime.x": cond}}),
            ("count", {"count": {"impacted": {"runtime.x": cond}, "gte": 1}, "impacted": {}}),
        ):
            rules.append({"id": f"{kind}{i}", "description": "d", "effect": "warn", "message": "m", "when": when})
    (tmp_path / "edges.yaml").write_text(yaml.safe_dump({"rules": rules}))
    engine = PolicyEngine(tmp_path)
    engine.load()
    fact_list = facts(rows=[impacted("lambda/x", runtime={"x": EDGE_VALUES[value_name]})])
    got = {d.rule_id for d in engine.evaluate(fact_list)}
    assert {r.removeprefix("count") for r in got if r.startswith("count")} == {
        r.removeprefix("inline") for r in got if r.startswith("inline")
    }
    assert {(d.rule_id, d.component) for d in engine.evaluate(fact_list)} == oracle_decisions(engine.rules(), fact_list)


@pytest.mark.parametrize("value", [2**64, -(2**70), 1e19, float("inf"), float("nan")])
def test_a_number_the_engine_cannot_hold_is_set_and_equals_nothing(tmp_path, value):
    """`exists: true` is "set (not missing, not null)": a runtime size of 2^64 is set, and not empty. It
    counted as unset, so `exists: true` failed and `exists: false` and `empty: true` held for a value that
    is there. It still equals and orders against nothing (the engine holds no such number): `ne` holds,
    `eq`, `lt` and `gt` do not — inline, in a count filter and in the oracle alike."""
    expected = {"exists": True, "not-unset": False, "empty": False, "ne": True, "gt": False, "lt": False}
    conditions = {
        "exists": {"exists": True},
        "not-unset": {"exists": False},
        "empty": {"empty": True},
        "ne": {"ne": 1},
        "gt": {"gt": 1},
        "lt": {"lt": 1},
    }
    rules = []
    for name, cond in conditions.items():
        for kind, when in (
            ("inline", {"impacted": {"runtime.x": cond}}),
            ("count", {"count": {"impacted": {"runtime.x": cond}, "gte": 1}, "impacted": {}}),
        ):
            rules.append({"id": f"{kind}-{name}", "description": "d", "effect": "warn", "message": "m", "when": when})
    (tmp_path / "edges.yaml").write_text(yaml.safe_dump({"rules": rules}))
    engine = PolicyEngine(tmp_path)
    engine.load()
    fact_list = facts(rows=[impacted("lambda/x", runtime={"x": value})])
    got = {d.rule_id for d in engine.evaluate(fact_list)}
    meant = {name for name, holds in expected.items() if holds}
    assert got == {f"{kind}-{name}" for kind in ("inline", "count") for name in meant}
    assert {(d.rule_id, d.component) for d in engine.evaluate(fact_list)} == oracle_decisions(engine.rules(), fact_list)


def test_field_against_field_compares_scalars_only(tmp_path):
    """docs/rules.md, "Field against field": two equal lists (or objects) in open fields are not `eq`, as
    two unset fields are not; `ne` holds for them. The engine and the oracle both say so."""
    engine = engine_for(
        tmp_path,
        """
        rules:
          - {id: same, description: d, effect: warn, message: m,
             when: {change: {new.x: {eq: {field: change.old.x}}}}}
          - {id: differs, description: d, effect: warn, message: m,
             when: {change: {new.x: {ne: {field: change.old.x}}}}}
        """,
    )
    for value, expected in (("a", {"same"}), (["a"], {"differs"}), ({"a": 1}, {"differs"}), (None, {"differs"})):
        fact_list = facts(change(old={"x": value}, new={"x": value}))
        assert {d.rule_id for d in engine.evaluate(fact_list)} == expected, value
        assert {r for r, _c in oracle_decisions(engine.rules(), fact_list)} == expected, value
