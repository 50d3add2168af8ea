"""The FIXED floors every plan figure is held against (issue 21), their text fixed here, never read from
`cypher/`: the product's own impact query grows with every feature (paths, the edges among the affected
set, siblings, by-value lookups, referrers), so a floor made of it moves with the code and cannot show
what the code costs.

- *bare*: the ids of every component a change to `$id` reaches (variable-length expand, DISTINCT);
- *rich*: what the rules read of each of them — id, type, runtime, config and depth, one row per
  component (ANY SHORTEST);
- *rich set*: the rich read of the union of the impacts of a change set's components (`$ids`).

Each is run through the bare driver (records fetched and decoded, as the product's read is), interleaved
sample by sample with the plan it is the floor of, so both see the same moment of the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from karma_tools.bench.stats import ratio, summary

BARE = (
    "MATCH (x:Component {id: $id}) "
    "OPTIONAL MATCH (x)<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM*1..25]-(y:Component) "
    "RETURN collect(DISTINCT y.id) AS ids"
)
RICH = (
    "MATCH (x:Component {id: $id}) "
    "OPTIONAL MATCH p = ANY SHORTEST (x)(()<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM]-()){1,25}(y:Component) "
    "RETURN collect({id: y.id, type: y.type, runtime: y.runtime, config: y.config, depth: length(p)}) AS rows"
)
RICH_SET = (
    "UNWIND $ids AS id MATCH (x:Component {id: id}) "
    "OPTIONAL MATCH p = ANY SHORTEST (x)(()<-[:DEPENDS_ON|CONSUMES_RUNTIME_FROM]-()){1,25}(y:Component) "
    "WITH y, min(length(p)) AS depth "
    "RETURN collect({id: y.id, type: y.type, runtime: y.runtime, config: y.config, depth: depth}) AS rows"
)


def call(driver, text: str, **params) -> Callable[[], float]:
    """A floor: `text` with `params` through the bare driver → milliseconds (the records fetched)."""
    from neo4j import RoutingControl  # noqa: PLC0415

    def run() -> float:
        start = time.perf_counter_ns()
        records = driver.execute_query(
            text, parameters_=params, routing_=RoutingControl.READ, bookmark_manager_=None
        ).records
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if not records:
            raise LookupError(f"floor read nothing for {params}")
        return elapsed

    return run


def single(driver, component: str) -> dict[str, Callable[[], float]]:
    """The bare and rich floors of a single change to `component`."""
    return {"bare": call(driver, BARE, id=component), "rich": call(driver, RICH, id=component)}


def change_set(driver, components: list[str]) -> dict[str, Callable[[], float]]:
    """The rich floor of a change set: the union of its components' impacts."""
    return {"rich": call(driver, RICH_SET, ids=sorted(components))}


def ratios(out: dict, fixed_ms: dict[str, list[float]], product: str = "floor") -> dict:
    """`out` (with `plan` and the product query's summary under `product`) plus each fixed floor's summary,
    plan ÷ rich and product query ÷ rich (issue 21)."""
    for name, values in fixed_ms.items():
        out[name] = summary(values)
    rich = out.get("rich", {}).get("median_ms")
    out["plan_over_rich"] = ratio(out["plan"]["median_ms"], rich)
    out["query_over_rich"] = ratio(out[product]["median_ms"], rich)
    return out
