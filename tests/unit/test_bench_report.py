"""Bench statistics, locust parsing, target evaluation and the text table (no Neo4j, no timing)."""

from __future__ import annotations

import json

from karma_tools.bench import harness, report
from karma_tools.bench.stats import percentile, ratio, summary


def test_percentiles_interpolate():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.5
    assert percentile([3.0], 99) == 3.0
    s = summary([5.0, 1.0, 3.0])
    assert (s["n"], s["median_ms"], s["min_ms"], s["max_ms"]) == (3, 3.0, 1.0, 5.0)
    assert summary([]) == {"n": 0}
    assert ratio(3.0, 2.0) == 1.5 and ratio(1.0, 0) is None and ratio(None, 1.0) is None


def test_locust_summary():
    entry = {
        "name": "/plan",
        "num_requests": 10,
        "num_failures": 1,
        "start_time": 100.0,
        "last_request_timestamp": 105.0,
        "response_times": {"10": 8, "20": 2},
        "max_response_time": 21,
    }
    out = report.locust_summary([entry])
    assert out["requests"] == 10 and out["failures"] == 1 and out["rps"] == 2.0
    assert out["median_ms"] == 10.0 and out["max_ms"] == 21
    assert report.locust_summary([])["requests"] == 0


def _results():
    row = {
        "impact_size": 43,
        "plan": summary([10.0, 11.0]),
        "floor": summary([6.0, 6.0]),
        "request_change": summary([20.0]),
        "plan_over_floor": 1.75,
    }
    return {
        "latency": {"1000": row, "100000": {**row, "plan": summary([11.0, 12.0])}, "10000": {"skipped": "x"}},
        "naive": {
            "size": 100000,
            "naive": summary([5000.0]),
            "karma_plan": summary([12.0]),
            "naive_over_karma": 416.7,
            "same_impact": True,
        },
        "rules": {"5": {"plan": summary([10.0])}, "500": {"plan": summary([12.0])}, "ratio": 1.2},
        "round_trips": {
            "rows": [{"rules": 5, "probe": "local", "component": "vpc/x", "impact_size": 43, "plan": 3, "apply": 5}],
            "plan_max": 3,
            "apply_max": 5,
            "plan_constant": True,
            "apply_constant": True,
        },
        "throughput": {
            "workers": 2,
            "runs": [{"mode": "plan", "users": 8, "request": "/plan", "rps": 50.0, "requests": 500, "failures": 0}],
        },
        "world": {
            "loads": [{"size": 1000, "components": 1000, "edges": 1178, "seconds": 1.0, "components_per_s": 1000.0}]
        },
        "errors": [{"where": "latency@10000", "error": "boom"}],
    }


def test_targets_and_table(tmp_path):
    data = _results()
    targets = harness._targets(data)
    assert targets["plan_over_floor"] == {"value": 1.75, "target": "<= 2", "met": True}
    assert targets["plan_100k_over_1k"]["value"] == 1.1  # 11.5 ÷ 10.5
    assert targets["naive_over_karma_100k"]["met"] is True
    assert targets["round_trips_per_plan"]["met"] is False
    assert targets["round_trips_per_apply"]["independent_of_rules_and_impact"] is True
    assert targets["rules_500_over_5"]["met"] is True
    data["targets"] = targets
    text = report.table(data)
    assert "| Bolt round trips per plan (max over rules × impact) | 3 | <= 2 | **no** |" in text
    assert "not measured: x" in text and "latency@10000: boom" in text
    path = report.write(data, tmp_path / "r" / "latest.json")
    assert json.loads(path.read_text())["targets"]["rules_500_over_5"]["value"] == 1.2


def test_sizes_option():
    from karma_tools.bench.cli import _sizes

    assert _sizes("1k,10k,100k,1m") == (1_000, 10_000, 100_000, 1_000_000)
    assert _sizes("2500") == (2_500,)


def _sweep_row(affected: int, plan: float, impact: float, rich: float) -> dict:
    return {
        "affected": affected,
        "plan": summary([plan]),
        "floor": summary([impact]),
        "rich": summary([rich]),
        "plan_over_rich": ratio(plan, rich),
        "query_over_rich": ratio(impact, rich),
        "plan_over_floor": ratio(plan, impact),
        "plan_ms_per_affected": plan / affected,
    }


def test_fixed_floor_targets_take_the_worst_point_of_each_group():
    data = _results()
    data["latency"]["1000"].update(plan_over_rich=2.5, query_over_rich=1.2)
    data["blast_radius"] = {
        "rows": [
            _sweep_row(10, 4.0, 2.0, 2.0),  # plan ÷ rich 2.0, impact ÷ rich 1.0
            _sweep_row(100, 9.0, 4.0, 3.0),  # 3.0 (narrow), 1.33
            _sweep_row(1_000, 30.0, 20.0, 20.0),  # 1.5 (wide)
            _sweep_row(10_000, 280.0, 160.0, 100.0),  # 2.8 (wide, missed), 1.6 (missed)
        ]
    }
    data["set_plan"] = {"plan_over_rich": 1.9}
    targets = harness._targets(data)
    assert targets["plan_over_rich_narrow"] == {"value": 3.0, "target": "<= 3", "met": True}
    assert targets["plan_over_rich_wide"] == {"value": 2.8, "target": "<= 2", "met": False}
    assert targets["query_over_rich"]["value"] == 1.6 and targets["query_over_rich"]["met"] is False
    assert targets["plan_10k_ms"] == {"value": 280.0, "target": "<= 300", "met": True}
    assert targets["set_plan_over_rich"]["met"] is True
    data["targets"] = targets
    assert "| 10,000 | — | 100.00 | 160.00 | 280.00 | 2.80 | 1.60 |" in report.table(data)


def test_fixed_floors_are_fixed_text_not_the_products_queries():
    from karma_tools.bench import floors

    for text in (floors.BARE, floors.RICH, floors.RICH_SET):
        assert "include" not in text and ("$id" in text or "$ids" in text)
    assert "ANY SHORTEST" in floors.RICH and "*1..25" in floors.BARE


def test_answer_floor_makes_a_repeated_list_once_and_leaves_the_collector_as_it_was():
    import gc

    import orjson

    from karma_tools.bench import floors

    rows = [{"id": f"subnet/s{i}", "config": {"cidr": f"10.0.{i}.0/24"}} for i in range(3)]
    raw = orjson.dumps(
        {
            "impact": rows,
            "actions": {"waves": [1]},
            "operations": [{"impact": rows, "affected_components": ["subnet/s0"], "order": 0}],
        }
    )
    lean = orjson.loads(floors._without_repeats(raw))
    assert lean["impact"] == rows and lean["operations"][0]["impact"] is None  # made once
    assert lean["operations"][0]["affected_components"] == ["subnet/s0"]  # not a repeat: kept
    other = orjson.dumps({"impact": rows, "operations": [{"impact": rows[:1]}]})
    assert orjson.loads(floors._without_repeats(other))["operations"][0]["impact"] == rows[:1]
    assert floors._without_repeats(b"[1, 2]") == b"[1,2]"  # not a plan's answer: nothing to leave out
    assert gc.isenabled()
    assert floors.answer(raw) > 0 and gc.isenabled()
    gc.disable()
    try:
        floors.answer(raw)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_content_floor_and_what_each_target_leaves():
    from karma_tools.bench import floors

    row = {"affected": 10_000, "plan": summary([500.0]), "floor": summary([170.0]), "plan_ms_per_affected": 0.05}
    row["plan_over_floor"] = ratio(500.0, 170.0)
    floors.ratios(row, {"rich": [125.0], "answer": [90.0]})
    assert row["content_over_rich"] == ratio(215.0, 125.0)
    set_plan = {"operations": 10, "affected": 188, "plan": summary([28.0]), "floor": summary([11.0])}
    set_plan["plan_over_floor"] = ratio(28.0, 11.0)
    floors.ratios(set_plan, {"rich": [7.5], "answer": [2.0]})
    data = {"blast_radius": {"rows": [row]}, "set_plan": set_plan}
    lines = "\n".join(report._set_lines(data))
    assert "| 90.00 | 1.72 |" in lines  # the row's answer and (rich + answer) ÷ rich
    # 2 × 125 − 170 − 90 = −10 ms: the ≤ 2 target is below the read and the answer alone
    assert "- 10,000 affected: ≤ 2 × rich leaves -10.0 ms (-1.0 µs per affected component)" in lines
    assert "- 10,000 affected: 300 ms leaves 40.0 ms (4.0 µs per affected component)" in lines
    assert "- the 10-operation set: ≤ 2 × rich leaves 2.0 ms (10.6 µs per affected component)" in lines
    small = {"affected": 100, "plan": summary([12.0]), "floor": summary([5.0])}
    floors.ratios(small, {"rich": [4.0], "answer": [1.0]})
    assert "- 100 affected: ≤ 3 × rich leaves 6.0 ms" in "\n".join(
        report._left_lines({"blast_radius": {"rows": [small]}})
    )
    assert report._left_lines({"blast_radius": {"rows": [{"affected": 10, "floor": summary([1.0])}]}}) == []
