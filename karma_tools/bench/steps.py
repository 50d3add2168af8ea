"""What every bench step shares (harness.py runs them; blast.py has two of them): the run's state and
errors, one request through the app, the product floor's call, the apply targets. Its own module so
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


def floor_call(driver, component: str, ref_ids: list[str]) -> Callable[[], float]:
    """The same impact Cypher the repository runs, through the bare driver (records fetched)."""
    from app.graph import cypher  # noqa: PLC0415

    return fixed.call(driver, cypher.query("impact"), id=component, ref_ids=ref_ids, ref_values=[])


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
