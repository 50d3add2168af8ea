"""The benchmark suite (`karma bench ...`, `make bench`; docs/performance.md).

- `generator`: deterministic worlds shaped like real estates (`karma bench generate`).
- `bulk`: batched UNWIND loading in many transactions, with progress.
- `harness`: the run (own Neo4j, growing worlds, every figure); `report`/`stats`: JSON and table.
- `naive`: the naive peer (whole graph into networkx per request); `rules`: generated rule sets.
- `roundtrips`: counts Bolt round trips at the driver's socket; `locustfile`: the throughput users.

Nothing here is imported by the service itself (`app` never imports `karma_tools`); the bench's own
Cypher lives in `karma_tools/cypher/` (`queries`).
"""
