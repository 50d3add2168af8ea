"""The FIXED floors every plan figure is held against (issue 21), their text fixed here, never read from
`cypher/`: the product's own impact query grows with every feature (paths, the edges among the affected
set, siblings, by-value lookups, referrers), so a floor made of it moves with the code and cannot show
what the code costs.

- *bare*: the ids of every component a change to `$id` reaches (variable-length expand, DISTINCT);
- *rich*: what the rules read of each of them — id, type, runtime, config and depth, one row per
  component (ANY SHORTEST);
- *rich set*: the rich read of the union of the impacts of a change set's components (`$ids`);
- *answer*: what the plan's answer costs as values, whoever computes it: its values made by a C parser
  (orjson, from the answer's own bytes), written (orjson) and freed, the collector paused as the product
  pauses it. The issue fixes the plan's content, so this part of a plan cannot move either; held beside
  the rich floor it says what a ratio target leaves for everything else.

Each is run through the bare driver (records fetched and decoded, as the product's read is), interleaved
sample by sample with the plan it is the floor of, so both see the same moment of the machine.

Every timed call of a sample — the plan and each read — starts from the same state of the server: idle
for SETTLE_S (:func:`settle`, not timed). A read right after another read finds Neo4j's threads awake and
costs up to a millisecond less at 10–100 affected than one after a few milliseconds of Python; in the
order plan → product read → bare → rich, the rich floor always followed a read and the plan's read and
the product read followed Python, which favoured the floor by a fifth to a third at the small points
(docs/performance.md, part 9).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson

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


# Idle time before every timed call of an interleaved sample: past ~15 ms a read's cost no longer grows
# with the idle time before it (10 and 100 affected, this machine), so 20 ms puts every call on that plateau.
SETTLE_S = 0.02


def settle() -> None:
    """Leave the server idle for SETTLE_S before a timed call, so the plan and its floors start alike."""
    time.sleep(SETTLE_S)


def call(driver, text: str, **params) -> Callable[[], float]:
    """A floor: `text` with `params` through the bare driver → milliseconds (the records fetched), after
    the settle every timed call of a sample starts with."""
    from neo4j import RoutingControl  # noqa: PLC0415

    def run() -> float:
        settle()
        start = time.perf_counter_ns()
        records = driver.execute_query(
            text, parameters_=params, routing_=RoutingControl.READ, bookmark_manager_=None
        ).records
        elapsed = (time.perf_counter_ns() - start) / 1e6
        if not records:
            raise LookupError(f"floor read nothing for {params}")
        return elapsed

    return run


def answer(raw: bytes) -> float:
    """The answer floor of one plan's answer bytes → milliseconds: its values made, written and freed.

    A list the answer shows twice (a single change's impact, at the top and in its one operation) is one
    list in the product and written once (`app.observability.http`), so it is made and written once here
    too: the bytes are first rewritten without the repeats (not timed)."""
    from app.reliability import gc_pause  # noqa: PLC0415 - the product's own pause, as a plan has it

    lean = _without_repeats(raw)
    gc_pause.pause()
    try:
        start = time.perf_counter_ns()
        value = orjson.loads(lean)
        orjson.dumps(value)
        del value
        return (time.perf_counter_ns() - start) / 1e6
    finally:
        gc_pause.resume()


def _without_repeats(raw: bytes) -> bytes:
    """`raw` with each top-level list an operation repeats under the same key left out of the operation."""
    value = orjson.loads(raw)
    top = value if isinstance(value, dict) else {}
    for operation in top.get("operations") or []:
        for key, item in list(operation.items()) if isinstance(operation, dict) else ():
            if isinstance(item, list) and item and top.get(key) == item:
                operation[key] = None
    return orjson.dumps(value)


def single(driver, component: str) -> dict[str, Callable[[], float]]:
    """The bare and rich floors of a single change to `component`."""
    return {"bare": call(driver, BARE, id=component), "rich": call(driver, RICH, id=component)}


def change_set(driver, components: list[str]) -> dict[str, Callable[[], float]]:
    """The rich floor of a change set: the union of its components' impacts."""
    return {"rich": call(driver, RICH_SET, ids=sorted(components))}


def ratios(out: dict, fixed_ms: dict[str, list[float]], product: str = "floor") -> dict:
    """`out` (with `plan` and the product query's summary under `product`) plus each fixed floor's summary,
    plan ÷ rich and product query ÷ rich (issue 21), and (rich + answer) ÷ rich when the answer floor ran."""
    for name, values in fixed_ms.items():
        out[name] = summary(values)
    rich = out.get("rich", {}).get("median_ms")
    out["plan_over_rich"] = ratio(out["plan"]["median_ms"], rich)
    out["query_over_rich"] = ratio(out[product]["median_ms"], rich)
    if rich and "answer" in out:  # what a plan cannot go below with its content fixed, in rich floors
        out["content_over_rich"] = ratio(rich + out["answer"]["median_ms"], rich)
    return out
