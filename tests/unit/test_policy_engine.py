"""The compiled durable_rules ruleset, message templating, and the engine under load and failure."""

from __future__ import annotations

import threading

import pytest
import yaml

from app.policy import Decision, PolicyEngine, PolicyEvaluationError, RuleFileError, host, loader
from app.policy import compiler as compiler_module
from app.policy.compiler import MAX_FACT_KEYS, compile_rules, fnv1
from app.policy.facts import flatten
from app.policy.template import render
from test_policy_support import BASTION, SUBNET, change, component, engine_for, facts, impacted, rule_yaml, write_rules


def compiled(tmp_path, text):
    (tmp_path / "r.yaml").write_text(text)
    return loader.build(tmp_path)


# ------------------------------------------------------------------------------------------ compile output
def test_compile_output_for_a_discriminated_rule(tmp_path):
    c = compiled(tmp_path, rule_yaml("change: {type: subnet}", rule_id="sub"))
    way = compiler_module.disc_way("change.type:v", "s:subnet")
    assert c.definition == {
        "sub#0": {
            "all": [
                {
                    "m": {
                        "$and": [
                            {"k": "c0"},
                            {f"change.type:v#{way}": 1},
                            {"change.type:v=s:subnet": 1},
                            {"$neq": {"t": -1}},
                            {"$neq": {"t": -1001}},
                            {"change.type:v": "s:subnet"},
                        ]
                    }
                }
            ],
            "cap": 1000,
            "run": "sub#0",
        },
        "_karma_catch_all": {"all": [{"m": {"$ex": {"k": 1}}}], "cap": 1000, "run": "_karma_catch_all"},
    }
    assert c.actions == {"sub#0": "sub"}
    assert c.name.startswith("karma_") and len(c.name) == 30


def test_compile_output_for_generic_and_negated_conditions(tmp_path):
    c = compiled(
        tmp_path,
        rule_yaml(
            """
        impacted:
          depth: {gt: 2}
          not: {runtime.state: {in: [stopped, terminated]}}
          unpublished_reads: {empty: false}
          edge_kinds: {contains_any: [depends_on, emits_runtime_to]}
        """,
            rule_id="gen",
        ),
    )
    tree = [{"k": "i0"}, {"$neq": {"t": -1}}, {"$neq": {"t": -1001}}]
    assert c.definition["gen#0"]["all"][0]["m"]["$and"] == tree + [
        {
            "$iany": {
                "impacted.edge_kinds:l": {
                    "$and": [{"$or": [{"$i": "s:depends_on"}, {"$i": "s:emits_runtime_to"}]}, {"$neq": {"$i": ""}}]
                }
            }
        },
        {"$gt": {"impacted.depth:n": 2}},
        {"$gt": {"impacted.unpublished_reads:len": 0}},
        {"$neq": {"impacted.runtime.state:v": "s:stopped"}},
        {"$neq": {"impacted.runtime.state:v": "s:terminated"}},
    ]
    assert set(c.definition) == {"gen#0", "_karma_catch_all"}


def test_not_lt_and_in_add_alternatives(tmp_path):
    c = compiled(
        tmp_path,
        rule_yaml(
            """
        change:
          type: [subnet, vpc]
          not: {affected_count: {lt: 3}}
        """,
            rule_id="alt",
        ),
    )
    assert sorted(c.actions) == ["alt#0", "alt#1", "alt#2", "alt#3"]


def test_rules_that_expand_too_far_are_refused(tmp_path):
    values = [f"v{i}" for i in range(9)]
    text = rule_yaml(f"change: {{environment: {values}, nickname: {values}}}", rule_id="wide")
    with pytest.raises(RuleFileError, match=r"r\.yaml: rules\[0\]\.when: expands to more than 64 alternatives"):
        compiled(tmp_path, text)


def test_rules_reading_many_fields_are_split_into_shards(tmp_path):
    rules = [
        {
            "id": f"k{i}",
            "description": "d",
            "effect": "warn",
            "message": "m",
            "when": {"change": {f"new.key_{i}": {"exists": True}, "environment": "dev"}},  # subnet has no key_<i>
        }
        for i in range(450)
    ]
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"rules": rules}))
    engine = PolicyEngine(tmp_path)
    engine.load()
    shards = engine._active.shards
    assert len(shards) == 3
    assert all(len(s.keys) + 2 * len(s.disc_keys) <= MAX_FACT_KEYS for s in shards)
    new = {f"key_{i}": i for i in range(0, 450, 7)}
    fired = [d.rule_id for d in engine.evaluate(facts(change(new=new)))]
    assert fired == sorted(f"k{i}" for i in range(0, 450, 7))
    flat = flatten(facts(change(new=new)), shards)
    assert len(flat) == 3 and max(len(f) for f in flat) < 250


def test_durable_name_hashes_are_reproduced():
    assert fnv1("id") == 926444256 and fnv1("sid") == 3593476751  # durable's HASH_ID / HASH_SID


def test_many_equal_rules_stay_within_the_engines_limits(tmp_path):
    # 600 rules hanging off the same value: durable hangs on a node with 512 children and fails (then crashes)
    # beyond 64 matching siblings; the compiler's tree keeps every node small.
    rules = [
        {
            "id": f"same-{i}",
            "description": "d",
            "effect": "warn",
            "message": "m",
            "when": {"impacted": {"type": "ec2-instance", "runtime.state": {"ne": f"x{i}"}}},
        }
        for i in range(600)
    ]
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"rules": rules}))
    engine = PolicyEngine(tmp_path)
    engine.load()
    decisions = engine.evaluate(facts(rows=[impacted(), impacted("lambda/x")]))
    assert len(decisions) == 600 and {d.component for d in decisions} == {BASTION}


# ------------------------------------------------------------------------------------------ templating
def test_message_rendering(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            "impacted: {type: ec2-instance}",
            effect="reject",
            message="{impacted.id} ({impacted.runtime.state}, depth {impacted.depth}, published "
            "{impacted.runtime_published}) keys={change.changed_keys} old={change.old} "
            "vpc={component.config.vpc_nickname} gone={impacted.runtime.private_ip} none={change.reason} "
            "empty={change.added_keys} {{literal}}",
        ),
    )
    [decision] = engine.evaluate(facts(rows=[impacted()]))
    assert decision.message == (
        f'{BASTION} (running, depth 1, published true) keys=cidr_block old={{"cidr_block":"10.42.1.0/24"}} '
        "vpc=karma-dev gone=<unset> none=<unset> empty=[] {literal}"
    )


def test_render_values():
    parts = [("change", ("new", "x"))]
    assert render(parts, {"change": {"new": {"x": [1, "a", True, None]}}}) == "1, a, true, <unset>"
    assert render(parts, {"change": {"new": {"x": 2.5}}}) == "2.5"
    assert render(parts, {"change": {"new": {}}}) == "<unset>"
    assert render(parts, {"change": None}) == "<unset>"


def test_decision_shape(tmp_path):
    engine = engine_for(tmp_path, rule_yaml("change: {type: subnet}", rule_id="c-rule", effect="block"))
    [d] = engine.evaluate(facts(rows=[impacted()]))
    assert isinstance(d, Decision)
    assert d.to_dict() == {
        "rule_id": "c-rule",
        "effect": "block",
        "message": f"hit {SUBNET}",
        "component": SUBNET,
        "path": [SUBNET],
        "edge_kinds": [],
        "file": "rules.yaml",
        "approver_role": None,
        "liftable": False,  # no remedy, no impacted runtime a wait could change
    }
    with pytest.raises(Exception):
        d.effect = "warn"  # frozen


def test_one_decision_per_rule_and_component(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            """
        impacted:
          any:
            - type: ec2-instance
            - depth: {gte: 1}
        """,
            rule_id="either",
        ),
    )
    rows = [impacted(depth=3), impacted(depth=1)]  # the same component reached twice, both alternatives match
    [d] = engine.evaluate(facts(rows=rows))
    assert (d.rule_id, d.component, len(d.path)) == ("either", BASTION, 2)  # the shorter path is kept


def test_facts_with_odd_values_do_not_break_the_engine(tmp_path):
    engine = engine_for(tmp_path, rule_yaml("impacted: {runtime.size: {gt: 1}}", rule_id="big"))
    rows = [
        impacted("lambda/a", runtime={"size": float("nan")}),
        impacted("lambda/b", runtime={"size": 10**30}),
        impacted("lambda/c", runtime={"size": 2}),
        impacted("lambda/d", runtime=None),
        impacted("lambda/e", runtime={"size": {"nested": [1, {"deep": True}]}}),
    ]
    assert [d.component for d in engine.evaluate(facts(rows=rows))] == ["lambda/c"]
    assert engine.evaluate([]) == []
    with pytest.raises(TypeError):
        engine.evaluate(["not a dict"])


# ------------------------------------------------------------------------------------------ the engine
def test_many_evaluations_keep_one_session(tmp_path):
    engine = engine_for(tmp_path, rule_yaml("impacted: {runtime.state: running}", rule_id="run"))
    name = engine._active.name
    running, stopped = impacted(), impacted("ec2-instance/b", runtime={"state": "stopped"})
    for i in range(1200):  # durable holds at most 1024 sessions per ruleset
        rows = [running, stopped] if i % 2 else [stopped]
        assert [d.component for d in engine.evaluate(facts(rows=rows))] == ([BASTION] if i % 2 else [])
    assert host.live_sessions(name) == [host.SESSION]


def test_concurrent_evaluations_are_correct(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            """
        impacted:
          type: ec2-instance
          runtime.state: running
        """,
            rule_id="run",
            message="{impacted.id}",
        ),
    )
    errors, wrong = [], []

    def worker(n: int):
        try:
            for i in range(150):
                k = (n * 7 + i) % 5
                rows = [
                    impacted(f"ec2-instance/w{n}-{j}", runtime={"state": "running" if j < k else "stopped"})
                    for j in range(5)
                ]
                got = [d.message for d in engine.evaluate(facts(rows=rows))]
                if got != [f"ec2-instance/w{n}-{j}" for j in range(k)]:
                    wrong.append((n, i, got))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and wrong == []


def test_an_action_failure_is_an_error_and_the_next_evaluation_works(tmp_path, monkeypatch):
    """A fired rule whose matches cannot be read fails the evaluation, and its session is never touched
    again: a fresh registration serves the next evaluation."""
    engine = engine_for(tmp_path, rule_yaml("impacted: {runtime.state: running}", rule_id="run"))
    name = engine._active.name
    before = host.generation(name)
    real = host._ids

    def exploding(matches):
        raise RuntimeError("boom")

    monkeypatch.setattr(host, "_ids", exploding)
    with pytest.raises(PolicyEvaluationError, match="a rule action failed inside durable_rules: .*boom"):
        engine.evaluate(facts(rows=[impacted()]))
    monkeypatch.setattr(host, "_ids", real)
    assert host.generation(name) == before + 1  # that session is abandoned, a fresh registration serves
    assert [d.component for d in engine.evaluate(facts(rows=[impacted()]))] == [BASTION]


def test_an_engine_error_is_an_error_and_the_next_evaluation_works(tmp_path, monkeypatch):
    engine = engine_for(tmp_path, rule_yaml("impacted: {runtime.state: running}", rule_id="run"))
    name = engine._active.name
    before = host.generation(name)
    real = host.durable_rules_engine.retract_facts

    def failing(handle, payload):
        raise host.durable_rules_engine.error("Could not retract facts, error code: 303")

    monkeypatch.setattr(host.durable_rules_engine, "retract_facts", failing)
    with pytest.raises(PolicyEvaluationError, match="error code: 303"):
        engine.evaluate(facts(rows=[impacted()]))
    monkeypatch.setattr(host.durable_rules_engine, "retract_facts", real)
    assert host.generation(name) == before + 1
    for _ in range(3):
        assert [d.component for d in engine.evaluate(facts(rows=[impacted()]))] == [BASTION]


def test_rulesets_are_shared_by_content(tmp_path):
    a = engine_for(tmp_path / "a", rule_yaml("change: {type: subnet}", message="A"))
    b = engine_for(tmp_path / "b", rule_yaml("change: {type: subnet}", message="B"))
    assert a._active.name == b._active.name  # one durable registration ...
    assert [d.message for d in a.evaluate(facts())] == ["A"]  # ... each engine its own messages
    assert [d.message for d in b.evaluate(facts())] == ["B"]


def test_compile_rules_ignores_disabled_rules(tmp_path):
    (tmp_path / "r.yaml").write_text(rule_yaml("change: {type: subnet}", extra="    enabled: false\n"))
    rules, errors = loader.parse_sources(loader.read_sources(tmp_path)[0])
    assert errors == []
    c = compile_rules(rules)
    assert c.rule_count == 0 and c.disabled == ["r"] and list(c.definition) == ["_karma_catch_all"]


def test_component_section_is_available_to_impacted_rules(tmp_path):
    engine = engine_for(
        tmp_path,
        rule_yaml(
            """
        component: {config.vpc_nickname: karma-dev}
        impacted: {type: ec2-instance}
        """,
            rule_id="both",
        ),
    )
    assert [d.rule_id for d in engine.evaluate(facts(rows=[impacted()]))] == ["both"]
    other = component(config={"vpc_nickname": "karma-prod"})
    assert engine.evaluate(facts(component_fact=other, rows=[impacted()])) == []


def test_a_refused_registration_is_a_load_error_not_retried(tmp_path, monkeypatch):
    """A refusal is a property of the rule set (error 102 is avoided by the compiler): never retried."""
    engine = PolicyEngine(write_rules(tmp_path, rule_yaml("change: {type: subnet}", rule_id="refused")))
    calls = []

    def refusing(rulesets):
        calls.append(list(rulesets))
        raise Exception("Could not create ruleset, error code: 102")

    monkeypatch.setattr(host._host(), "set_rulesets", refusing)
    with pytest.raises(RuleFileError, match="durable_rules refused the rule set: .*error code: 102"):
        engine.load()
    assert len(calls) == 1


# ------------------------------------------------------------------------------------- one run, many lists
MANY_RULES = """
rules:
  - id: crowd
    description: more than one running instance (a count of the list's own rows)
    effect: warn
    message: "{count.running} running"
    when:
      count:
        name: running
        impacted: {type: ec2-instance, runtime.state: running}
        gt: 1
  - id: running
    description: each running instance
    effect: warn
    message: "{impacted.id} runs, {change.affected_count} affected"
    when:
      impacted: {runtime.state: running}
"""


def test_evaluate_many_judges_each_list_as_if_alone(tmp_path):
    """A change set's operations are judged in one engine run: each list keeps its own counts (two lists
    of one running instance each do not make a crowd), equal rows in two lists decide in both, and an
    empty list decides nothing."""
    engine = engine_for(tmp_path, MANY_RULES)
    one = facts(rows=[impacted(BASTION)])
    other = facts(change(component="subnet/b"), rows=[impacted(BASTION, origin="subnet/b")])
    two = facts(rows=[impacted(BASTION), impacted("ec2-instance/web")])
    lists = [one, other, [], two]
    together = engine.evaluate_many([list(f) for f in lists])
    alone = [engine.evaluate(list(f)) for f in lists]
    assert together == alone
    assert [[(d.rule_id, d.component) for d in found] for found in together] == [
        [("running", BASTION)],
        [("running", BASTION)],
        [],
        [("crowd", SUBNET), ("running", BASTION), ("running", "ec2-instance/web")],
    ]
    assert together[1][0].path == ["subnet/b", BASTION]  # the row of its own list, not its twin's


def test_decision_to_dict_is_its_fields():
    decision = Decision("r", "warn", "m", "c", ["a", "c"], ["depends_on"], "f.yaml", None)
    from dataclasses import asdict

    assert decision.to_dict() == asdict(decision) and list(decision.to_dict()) == list(asdict(decision))


def test_equally_short_paths_keep_the_fact_listed_first(tmp_path):
    """A rule matching one component along two equally short paths decides from the fact listed first,
    whichever order the facts come in: the verdict is the facts', not the engine's firing order."""
    rule = "impacted: {type: ec2-instance, action: {in: [redeploy, reapply]}}"  # the facts differ: two engine facts
    engine = engine_for(tmp_path, rule_yaml(rule, rule_id="instances"))
    via_a = impacted(origin="subnet/a", depth=2, action="redeploy")
    via_b = impacted(origin="subnet/b", depth=2, action="reapply")
    for rows in ([via_a, via_b], [via_b, via_a]):
        [d] = engine.evaluate(facts(rows=[dict(r) for r in rows]))
        assert d.path == rows[0]["path"]
