"""Smoke test of the benchmark suite on a tiny world: the generator, the bulk loader and the harness
steps run against the test Neo4j and the real app. No timing is asserted (the figures come from
`make bench`); only that every step produces its figures."""

from __future__ import annotations

import pytest

from karma_tools.bench import generator, harness, naive, steps
from karma_tools.bench import rules as bench_rules
from karma_tools.bench.bulk import BulkLoader
from tests.conftest import raw_component

pytestmark = pytest.mark.integration

SIZE = len(generator.probe_environment()) + 40  # the probe environment and a bit of the next one


@pytest.fixture
def bench_world(make_app, driver):
    """The karma world (from make_app) plus a tiny bench world loaded with the bulk loader."""
    app = make_app(token_cache_seconds=3600.0)  # as the bench's app: round trips count no token look-up
    components = generator.generate(SIZE, seed=42)
    events = []
    result = BulkLoader(driver, batch=100, edge_batch=150, progress=events.append, every=0).load(components)
    assert (result.components, result.created) == (SIZE, SIZE)
    assert result.edges == len(generator.edges(components)) and result.transactions > 2
    assert events and events[-1]["phase"] == "edges" and events[-1]["done"] == result.edges
    return app, components


def test_bulk_load_is_idempotent_and_stores_components_like_the_seed_loader(bench_world, driver, repo):
    _app, components = bench_world
    again = BulkLoader(driver, batch=200).load(components)
    assert again.created == 0 and again.edges == len(generator.edges(components))
    row = raw_component(repo, generator.LOCAL.component)
    assert row["component"]["version"] == 1 and row["component"]["cfg_cidr"] == "10.200.0.0/16"
    assert {d["id"] for d in row["incoming"]} >= {"subnet/probe-core-a", "ecs-cluster/probe-core"}
    with driver.session() as session:
        versions = session.run(
            "MATCH (:Component {id: $id})-[:HAS_VERSION]->(v) RETURN count(v) AS n", id=generator.LOCAL.component
        ).single()["n"]
    assert versions == 1


def test_harness_steps_produce_their_figures(bench_world, driver, repo, tmp_path, monkeypatch):
    app, components = bench_world
    monkeypatch.setattr(steps, "HEADERS", {})
    monkeypatch.setattr(harness, "WARMUP_S", 0.0)
    assert harness.create_token(app)  # a requester token, sent by every harness request
    cfg = harness.BenchConfig(
        plan_samples=3, apply_samples=2, warmup=1, naive_samples=1, rule_samples=2, out=tmp_path / "latest.json"
    )
    state = harness.Run(cfg)
    state.warmed = True
    requests = harness.Requests("smoke")
    client = app.test_client()
    none = generator.PROBES["none"]  # the probe whose impact is empty: cheap whatever the query

    events = _log_timed_calls(monkeypatch)
    latency = harness._latency(state, cfg, client, driver, requests, SIZE, probe=none)
    assert state.errors == [], state.errors
    assert latency["plan"]["n"] == 3 and latency["floor"]["n"] == 3 and latency["request_change"]["n"] == 2
    # every timed call of a sample (the plan, the product read, bare, rich) starts from an idle server; the
    # product read is the read the plan makes (the set context read), not another query
    sampled = [e for e in events if e != "post /request-change"][-3 * 8 :]
    sample = ["settle", "post /plan", "settle", "read context", "settle", "read bare", "settle", "read rich"]
    assert sampled == sample * 3, events
    assert latency["impact_size"] == 0 and latency["plan_over_floor"] > 0

    # the naive peer computes the local probe's impact from the whole graph, like impact.cypher would
    nodes, edges = naive.read_graph(driver)
    assert len(nodes) >= SIZE
    ctx = naive.impact_context(generator.LOCAL.component, [], nodes, edges, naive.build(nodes, edges))
    assert len(ctx["impacted"]) == 43
    # and its plan is Karma's own analysis of that context: the same impact as the service's plan
    from app.changes.model import ChangeRequest

    naive_plan = naive.plan(driver, ChangeRequest(**requests.plan(generator.LOCAL)), app.extensions["karma"].policy)
    assert sorted(naive_plan["affected_components"]) == sorted(r["id"] for r in ctx["impacted"])

    small, big = tmp_path / "r5", tmp_path / "r20"
    bench_rules.write(small, 5)
    bench_rules.write(big, 20)
    trips = harness._round_trips(state, cfg, repo, driver, requests, small, big, probes={"none": none})
    assert state.errors == [], state.errors
    assert [r["rules"] for r in trips["rows"]] == [5, 20]
    assert all(r["plan"] >= 1 and r["apply"] >= 1 and r["apply_http"] == 200 for r in trips["rows"]), [
        (r["plan_http"], r["apply_http"], r["plan"], r["apply"]) for r in trips["rows"]
    ]
    assert trips["floor"] >= 1

    sets = harness._set_round_trips(state, client, driver, requests, sizes=(1, 3))
    assert state.errors == [], state.errors
    assert [r["operations"] for r in sets["rows"]] == [1, 3], sets
    assert all(r["apply_http"] == 200 and r["apply_status"] == "applied" for r in sets["rows"]), sets
    assert sets["plan_max"] <= 2 and sets["apply_max"] <= 3, sets

    from karma_tools.bench import blast

    events.clear()
    planned = blast.set_plan(state, client, driver, samples=2, warm=1, operations=3)
    assert state.errors == [], state.errors
    sample = ["settle", "post /plan", "settle", "read context", "settle", "read rich set"]
    assert events[-2 * 6 :] == sample * 2, events
    assert planned["operations"] == 3 and planned["affected"] > 0 and planned["plan_over_floor"] > 0
    assert planned["rich"]["n"] == 2 and planned["plan_over_rich"] > 0 and planned["query_over_rich"] > 0
    sweep = blast.blast_sweep(
        state, client, driver, type("W", (), {"loader": BulkLoader(driver)})(), sizes=(10, 100), samples={10: 2, 100: 2}
    )
    assert state.errors == [], state.errors
    assert [r["affected"] for r in sweep["rows"]] == [10, 100], sweep
    assert sweep["plan_over_floor_max"] > 0 and sweep["slope_plan_ms_per_affected"] is not None
    assert all(r["bare"]["n"] == 2 and r["rich"]["n"] == 2 and r["plan_over_rich"] > 0 for r in sweep["rows"]), sweep
    assert sweep["query_over_rich_max"] > 0
    # the answer floor of each plan's own answer, beside its rich floor (issue 21); (rich + answer) ÷ rich is
    # rounded to 2 places, and a 3-operation set's answer can cost less than 0.5 % of its read: 1.0
    assert planned["answer"]["n"] == 2 and planned["answer"]["median_ms"] > 0 and planned["content_over_rich"] >= 1
    assert all(
        r["answer"]["n"] == 2 and r["answer"]["median_ms"] > 0 and r["content_over_rich"] >= 1 for r in sweep["rows"]
    ), sweep

    out = {
        "latency": {str(SIZE): latency},
        "round_trips": trips,
        "errors": state.errors,
        "set_plan": planned,
        "blast_radius": sweep,
        "set_round_trips": sets,
    }
    out["targets"] = harness._targets(out)
    assert out["targets"]["round_trips_per_plan"]["value"] == trips["plan_max"]
    assert "Latency" in harness.report.table(out) and "Blast radius" in harness.report.table(out)
    assert "- 100 affected: ≤ 3 × rich leaves" in harness.report.table(out)
    assert out["targets"]["set_plan_over_floor"]["value"] == planned["plan_over_floor"]
    assert out["targets"]["set_round_trips_per_apply"]["value"] == sets["apply_max"]
    assert out["targets"]["set_plan_over_rich"]["value"] == planned["plan_over_rich"]
    assert out["targets"]["query_over_rich"]["value"] == sweep["query_over_rich_max"]
    assert out["targets"]["plan_over_rich_narrow"]["value"] is not None
    assert out["targets"]["plan_10k_ms"]["value"] is None  # the sweep stopped at 100 here


def _log_timed_calls(monkeypatch) -> list[str]:
    """The order of the settles, plan requests and floor reads (each named by its statement) of the
    harness' steps (the settle itself skipped: no sleep)."""
    from app.graph.cypher import query
    from karma_tools.bench import blast, floors

    events: list[str] = []
    monkeypatch.setattr(floors, "settle", lambda: events.append("settle"))
    real_call, real_post = floors.call, steps._post
    names = {query("change_set_context"): "context", floors.BARE: "bare", floors.RICH: "rich"}
    names[floors.RICH_SET] = "rich set"

    def call(driver, text, **params):
        run = real_call(driver, text, **params)
        return lambda: (run(), events.append(f"read {names.get(text, 'another statement')}"))[0]

    def post(client, path, body, keep=None):
        events.append(f"post {path}")
        return real_post(client, path, body, keep=keep)

    monkeypatch.setattr(floors, "call", call)
    for module in (harness, blast):
        monkeypatch.setattr(module, "_post", post)
    return events


def test_rule_authoring_figures_run_the_shipped_cases_and_replay_a_history(bench_world, driver, repo, monkeypatch):
    from karma_tools.bench import authoring

    app, _components = bench_world
    monkeypatch.setattr(steps, "HEADERS", {})
    assert harness.create_token(app)
    tested = authoring.rules_test(harness.REPO_ROOT / "rules")
    assert tested["cases"] > 0 and tested["passed"] == tested["cases"] and tested["cases_per_s"] > 0
    history = authoring.make_history(
        app.test_client(), harness._post, driver, harness.Requests("authoring"), entries=30, distinct=4
    )
    assert history["distinct"] == 4 and history["entries"] == 30, history
    replayed = authoring.replay(repo, harness.REPO_ROOT / "rules")
    assert replayed["entries"] >= 30 and replayed["errors"] == 0 and replayed["changed"] == 0, replayed


def test_rules_coverage_and_differential_figures(bench_world, repo, tmp_path):
    """Issue 20's figures: coverage of a generated rule set on the bench world, a few corpus examples."""
    big = bench_rules.write(tmp_path / "rules", 40)
    figures = bench_rules.coverage(repo, big, harness.REPO_ROOT / "types")
    assert figures["rules"] == 40 and figures["components"] > 0 and figures["cases"] == 0, figures
    assert figures["wall_s"] >= figures["query_s"] > 0
    corpus = bench_rules.differential(3)
    assert corpus["cases"] > 0 and corpus["disagreements"] == 0 and corpus["cases_per_second"] > 0, corpus
