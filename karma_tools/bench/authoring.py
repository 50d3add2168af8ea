"""Figures for the rule-authoring tools (issue 14): `karma rules test` and `karma rules replay`.

- **rules test**: the shipped case files (`rules/tests/*.yaml`) run against the shipped rules, as
  `karma rules test` runs them (same functions, in process): wall time per full run and cases per second.
- **rules replay**: `karma rules replay` over an audited history of `REPLAY_ENTRIES` requests. The history
  is made of real requests — `REPLAY_DISTINCT` applies through the gate on the bench world, each with the
  facts its rules saw in its AuditEntry — copied in the bench's own Neo4j up to `REPLAY_ENTRIES` entries
  (`karma_tools/cypher/bench_audit_replicate.cypher`): replay cost depends on the facts of an entry, not
  on how the entry came to be, and 10,000 real applies would take most of the bench's time budget.
  Measured for the live rule set and for the generated large set (what a candidate edit is checked
  against): wall time and audited requests per second, paging exactly as the CLI does.
"""

from __future__ import annotations

import time
from pathlib import Path

from karma_tools.bench import generator
from karma_tools.bench.queries import query
from karma_tools.bench.stats import summary

REPLAY_ENTRIES = 10_000
REPLAY_DISTINCT = 200
TEST_RUNS = 3


def rules_test(rules_dir: Path) -> dict:
    """Run the shipped case files `TEST_RUNS` times: the wall time of one run and cases per second."""
    from app.ruletools import cases as rule_tests  # noqa: PLC0415
    from app.policy.engine import PolicyEngine  # noqa: PLC0415

    engine = PolicyEngine(rules_dir)
    engine.load()
    files = rule_tests.case_files([rules_dir / "tests"])
    walls, outcomes = [], []
    for _ in range(TEST_RUNS):
        started = time.perf_counter()
        outcomes, errors = rule_tests.run(files, engine)
        walls.append((time.perf_counter() - started) * 1000)
        if errors:
            raise RuntimeError(f"rules test: {errors[:3]}")
    wall = summary(walls)
    return {
        "files": len(files),
        "cases": len(outcomes),
        "passed": sum(o.ok for o in outcomes),
        "wall": wall,
        "cases_per_s": round(len(outcomes) / (wall["median_ms"] / 1000), 1),
    }


def make_history(
    client, post, driver, requests, entries: int = REPLAY_ENTRIES, distinct: int = REPLAY_DISTINCT
) -> dict:
    """`distinct` real applies through the gate (probes of the bench world), then copies of their audit
    entries up to `entries` audited requests in all."""
    probes = [generator.PROBES[role] for role in ("none", "subnet", "local", "bucket")]
    ids, statuses = [], {}
    started = time.perf_counter()
    for i in range(distinct):
        _, status, data = post(client, "/request-change", requests.apply(probes[i % len(probes)]))
        if status == 200 and data.get("log_entry_id"):
            ids.append(data["log_entry_id"])
            statuses[data["status"]] = statuses.get(data["status"], 0) + 1
    made_s = time.perf_counter() - started
    if not ids:
        raise RuntimeError("replay history: no request was audited")
    records, _, _ = driver.execute_query(
        query("bench_audit_replicate"), ids=ids, copies=max(entries - len(ids), 0), step_ms=1
    )
    return {
        "distinct": len(ids),
        "statuses": statuses,
        "copied": records[0]["copies"],
        "entries": len(ids) + records[0]["copies"],
        "applies_s": round(made_s, 1),
    }


def replay(repo, rules_dir: Path) -> dict:
    """One `karma rules replay` pass over the whole history with the rule set of `rules_dir`."""
    from app.ruletools import replay as replaying  # noqa: PLC0415
    from app.policy.engine import PolicyEngine  # noqa: PLC0415

    engine = PolicyEngine(rules_dir)
    engine.load()
    result = replaying.Summary()
    started = time.perf_counter()
    for entry in repo.audited_facts():
        result.add(replaying.replay_entry(entry, engine))
    wall_s = time.perf_counter() - started
    return {
        "rules": engine.rule_count,
        "entries": result.entries,
        "changed": result.changed,
        "errors": result.errors,
        "wall_s": round(wall_s, 2),
        "requests_per_s": round(result.entries / wall_s, 1) if wall_s else None,
    }
