"""Figures of issues 10 and 21: what a change set's plan costs next to the Cypher that reads its combined
impact, and how a plan's cost follows its blast radius (not the graph's size) — each plan also held against
the FIXED bare and rich floors (`floors.py`), interleaved sample by sample.

- set plan: a 10-operation set (a tag update on each of 10 VPCs of distinct environments) planned through
  the app, interleaved sample by sample with the bare-driver run of `cypher/change_set_context.cypher`
  with the same parameters (the one read a set's plan makes) — its floor.
- blast-radius sweep: single changes whose impact is ~10, ~100, ~1,000 and ~10,000 components
  (`generator.blast_environment`, loaded beside the world), each planned interleaved with its floor
  (the set-context read the plan makes — a single change is a set of one — with the gate's
  parameters): plan ÷ floor per point, the cost per affected component, and the slopes
  (least squares, ms per affected component) of the plan, of the floor and of what Karma adds.
- plan ÷ rich and product query ÷ rich (issue 21) for the set and every sweep point.
"""

from __future__ import annotations


from karma_tools.bench import floors as fixed
from karma_tools.bench import generator
from karma_tools.bench.steps import REQUESTER, Run, _apply_targets, _echo, _post, floor_call
from karma_tools.bench.stats import ratio, summary

SET_SIZE = 10
# samples per sweep point: fewer where one plan takes long (a bounded run, ≤ ~1 min per point). At
# 10,000 affected a read is ~100 ms of the server's allocation, and one of its collections in a sample
# moves a median of 7 by a fifth (the context read ÷ rich 1.33 in one run, 1.61 in the next): 15.
SWEEP_SAMPLES = {10: 100, 100: 60, 1_000: 20, 10_000: 15}


def _interleaved(
    client, body: dict, floor, samples: int, warm: int, extra: dict | None = None
) -> tuple[list[float], list[float], dict, dict[str, list[float]]]:
    """Plan, product floor, each fixed floor of `extra` and the answer floor of the plan's own answer, one
    after the other, `samples` times."""
    extra = extra or {}
    for _ in range(warm):
        _post(client, "/plan", body)
        floor()
        for run in extra.values():
            run()
    plans, floors, last = [], [], {}
    fixed_ms: dict[str, list[float]] = {name: [] for name in [*extra, "answer"]}
    for _ in range(samples):
        kept: dict = {}
        fixed.settle()  # as every floor does (floors.call): each timed call starts from an idle server
        elapsed, status, data = _post(client, "/plan", body, keep=kept)
        if status != 200:
            raise RuntimeError(f"/plan answered {status}: {str(data)[:300]}")
        plans.append(elapsed)
        floors.append(floor())
        for name, run in extra.items():
            fixed_ms[name].append(run())
        fixed_ms["answer"].append(fixed.answer(kept["raw"]))
        last = data
    return plans, floors, last, fixed_ms


def set_plan(state: Run, client, driver, samples: int = 50, warm: int = 10, operations: int = SET_SIZE) -> dict:
    """Plan median of a 10-operation set ÷ its floor (the set-context read through the bare driver)."""
    _echo(f"[change sets] plan of a {operations}-operation set vs the bare-driver read of its combined impact")
    try:
        targets = _apply_targets(driver, operations)
        if len(targets) < operations:
            raise RuntimeError(f"only {len(targets)} VPCs of distinct environments")
        body = {
            "changes": [
                {"op": "update", "component": cid, "proposed_change": {"tags": {"bench-set": "plan"}}}
                for cid in targets
            ],
            "requested_by": REQUESTER,
            "reason": "benchmark",
        }
        plans, floors, data, fixed_ms = _interleaved(
            client, body, floor_call(driver, body), samples, warm, fixed.change_set(driver, targets)
        )
    except Exception as exc:  # noqa: BLE001 - reported, the run goes on
        state.error("set_plan", exc)
        return {"error": str(exc)[:800]}
    out = {
        "operations": operations,
        "components": targets,
        "affected": len(data.get("affected_components", [])),
        "plan": summary(plans),
        "floor": summary(floors),
    }
    out["plan_over_floor"] = ratio(out["plan"]["median_ms"], out["floor"]["median_ms"])
    fixed.ratios(out, fixed_ms)
    _echo(
        f"  {operations} operations, {out['affected']} affected: plan {out['plan']['median_ms']:.2f} ms, floor "
        f"{out['floor']['median_ms']:.2f} ms → ×{out['plan_over_floor']}; rich floor "
        f"{out['rich']['median_ms']:.2f} ms: plan ÷ rich ×{out['plan_over_rich']}, "
        f"context read ÷ rich ×{out['query_over_rich']}; answer {out['answer']['median_ms']:.2f} ms: "
        f"(rich + answer) ÷ rich ×{out.get('content_over_rich')}"
    )
    return out


def _slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of ms over affected components."""
    if len(points) < 2:
        return None
    n = len(points)
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    return round(sum((x - mx) * (y - my) for x, y in points) / var, 5) if var else None


def blast_sweep(
    state: Run, client, driver, world, sizes=generator.BLAST_SIZES, profile: bool = False, samples: dict | None = None
) -> dict:
    """Plans of single changes affecting ~10 … ~10,000 components, each beside its floor."""
    _echo(f"[blast radius] single changes affecting {', '.join(f'~{s:,}' for s in sizes)} components")
    rows = []
    try:
        extra = [c for n in sizes for c in generator.blast_environment(n)]
        world.loader.load(extra)
        _echo(f"  loaded {len(extra):,} components of the sweep beside the world")
        for n in sizes:
            vpc = generator.blast_vpc(n)
            body = {
                "component": vpc,
                "proposed_change": {"tags": {"bench-blast": "plan"}},
                "requested_by": REQUESTER,
                "reason": "benchmark",
            }
            count = (samples or SWEEP_SAMPLES).get(n, 10)
            plans, floors, data, fixed_ms = _interleaved(
                client,
                body,
                # the read the plan makes: a single change is planned as a set of one (issue 25)
                floor_call(driver, body),
                count,
                warm=max(1, count // 5),
                extra=fixed.single(driver, vpc),
            )
            row = {
                "target": n,
                "component": vpc,
                "affected": len(data.get("affected_components", [])),
                "samples": count,
                "plan": summary(plans),
                "floor": summary(floors),
            }
            row["plan_over_floor"] = ratio(row["plan"]["median_ms"], row["floor"]["median_ms"])
            row["plan_ms_per_affected"] = round(row["plan"]["median_ms"] / max(1, row["affected"]), 4)
            rows.append(fixed.ratios(row, fixed_ms))
            _echo(
                f"  {row['affected']:>6,} affected: plan {row['plan']['median_ms']:.1f} ms, floor "
                f"{row['floor']['median_ms']:.1f} ms → ×{row['plan_over_floor']}; bare "
                f"{row['bare']['median_ms']:.1f} ms, rich {row['rich']['median_ms']:.1f} ms: plan ÷ rich "
                f"×{row['plan_over_rich']}, context read ÷ rich ×{row['query_over_rich']}; answer "
                f"{row['answer']['median_ms']:.1f} ms: (rich + answer) ÷ rich ×{row.get('content_over_rich')}; "
                f"{row['plan_ms_per_affected']:.4f} ms per affected component"
            )
        if profile and rows:
            rows[-1]["profile"] = _profile(client, rows[-1]["component"])
    except Exception as exc:  # noqa: BLE001
        state.error("blast_sweep", exc)
    out = {
        "rows": rows,
        "plan_over_floor_max": max((r["plan_over_floor"] for r in rows if r["plan_over_floor"]), default=None),
        "query_over_rich_max": max((r["query_over_rich"] for r in rows if r.get("query_over_rich")), default=None),
        "slope_plan_ms_per_affected": _slope([(r["affected"], r["plan"]["median_ms"]) for r in rows]),
        "slope_floor_ms_per_affected": _slope([(r["affected"], r["floor"]["median_ms"]) for r in rows]),
        "slope_karma_ms_per_affected": _slope(
            [(r["affected"], r["plan"]["median_ms"] - r["floor"]["median_ms"]) for r in rows]
        ),
    }
    _echo(
        f"  slopes (ms per affected component): plan {out['slope_plan_ms_per_affected']}, floor "
        f"{out['slope_floor_ms_per_affected']}, Karma's own {out['slope_karma_ms_per_affected']}"
    )
    return out


def _profile(client, component: str, plans: int = 3) -> dict:
    """Where a wide plan's time goes (pyinstrument, the largest sweep point): the top frames by own time."""
    try:
        from pyinstrument import Profiler  # noqa: PLC0415
    except ImportError:
        return {"skipped": "pyinstrument is not installed"}
    body = {
        "component": component,
        "proposed_change": {"tags": {"bench-blast": "profile"}},
        "requested_by": REQUESTER,
        "reason": "benchmark",
    }
    profiler = Profiler(interval=0.001)
    profiler.start()
    for _ in range(plans):
        _post(client, "/plan", body)
    profiler.stop()
    return {"plans": plans, "text": profiler.output_text(unicode=False, show_all=False)[:20000]}
