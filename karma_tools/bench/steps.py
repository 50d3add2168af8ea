"""What every bench step shares (harness.py runs them; blast.py has two of them): the run's state and
errors, one request through the app, the product floor (the read a plan makes), the apply targets. Its own module so
that no step module imports the harness back."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from karma_tools.bench import floors as fixed
from karma_tools.bench import generator

log = logging.getLogger("karma.bench")
REQUESTER = "bench@example.com"
HEADERS: dict[str, str] = {}  # Authorization for every request (a requester token made for the run)


def _echo(message: str) -> None:
    print(message, flush=True)


def _ms(start_ns: int) -> float:
    return (time.perf_counter_ns() - start_ns) / 1e6


def _post(client, path: str, body: dict, keep: dict | None = None) -> tuple[float, int, dict]:
    """One request through the app; an exception inside it (the test client re-raises) is status 599.
    With `keep`, the answer's bytes are kept under `keep["raw"]` (the answer floor reads them)."""
    start = time.perf_counter_ns()
    try:
        response = client.post(path, json=body, headers=HEADERS)
    except Exception as exc:  # noqa: BLE001
        return _ms(start), 599, {"error": f"{type(exc).__name__}: {exc}"[:500]}
    elapsed = _ms(start)
    if keep is not None:
        keep["raw"] = response.get_data()
    return elapsed, response.status_code, response.get_json(silent=True) or {}


def floor_call(driver, change_set_body: dict) -> Callable[[], float]:
    """The product floor: the one read the gate makes to plan `change_set_body` (the set context read,
    `cypher/change_set_context.cypher`; a single change is a set of one), with the parameters the gate
    passes, through the bare driver (records fetched)."""
    from app.changes.sets import (  # noqa: PLC0415
        ChangeSet,
        reference_ids,
        reference_values,
        referrer_lookups,
        sibling_lookups,
    )
    from app.graph import cypher  # noqa: PLC0415
    from app.graph.repository import set_context_params  # noqa: PLC0415

    change_set = ChangeSet.from_dict(change_set_body)
    params = set_context_params(  # as GraphRepository.change_set_context passes them
        sorted(change_set.component_ids),
        reference_ids(change_set),
        reference_values(change_set),
        referrer_lookups(change_set),
        sibling_lookups(change_set),
    )
    return fixed.call(driver, cypher.query("change_set_context"), **params)


@dataclass
class Run:
    cfg: Any  # harness.BenchConfig
    results: dict = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)
    warmed: bool = False
    watchdog: Any = None  # harness.Watchdog
    plan_broken: str | None = None  # why /plan cannot be measured (then the steps that need it are skipped)

    def error(self, where: str, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        self.errors.append({"where": where, "error": text[:2000]})
        log.error("bench step failed", extra={"where": where, "error": text[:500]})
        _echo(f"  !! {where}: {text[:300]}")


def _apply_targets(driver, limit: int = 400) -> list[str]:
    """VPCs of distinct environments (not the probe's): disjoint impacts, so applies rarely share locks."""
    from karma_tools.bench.queries import query  # noqa: PLC0415

    records = driver.execute_query(query("bench_apply_targets"), probe_env=generator.PROBE_ENV, limit=limit).records
    return [r["id"] for r in records]
