"""A plan's content must not change when its cost does (issue 21): dump the exact bytes of `/plan` answers
on the bench world as it is loaded — the blast-radius VPCs (10 … 10,000 affected), the 10-operation set,
a tag update and a delete of every 7th component of the probe environment — then compare two dumps.

    python -m karma_tools.bench.plan_bytes dump DIR        # against the running (or started) bench Neo4j
    python -m karma_tools.bench.plan_bytes compare A B

The bench Neo4j is used as it is (KARMA_BENCH_BOLT_PORT / KARMA_BENCH_NEO4J_HOME; never wiped here): load
the world first (`karma bench run --keep-running`, or a run that left it). Plans whose lists followed
Neo4j's store order before 2026-12-06 (a delete's `edges_removed`, a 409's `referrers`: the order the
context read collects them in, which a reload may change; the graph state sorts them since) are also
compared with those lists sorted, and reported apart; so are answers whose values are the same in another
text form (the response encoder's).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

STORE_ORDERED = ("edges_removed", "edges_added", "explicit_edges", "referrers")


def _bodies(driver) -> dict[str, dict]:
    from karma_tools.bench import generator  # noqa: PLC0415
    from karma_tools.bench.steps import REQUESTER, _apply_targets  # noqa: PLC0415

    def update(cid: str, tag: str) -> dict:
        return {"component": cid, "proposed_change": {"tags": {tag: "plan"}}, "requested_by": REQUESTER, "reason": "b"}

    bodies = {f"blast-{n}": update(generator.blast_vpc(n), "bench-blast") for n in generator.BLAST_SIZES}
    bodies["set10"] = {
        "changes": [
            {"op": "update", "component": c, "proposed_change": {"tags": {"bench-set": "plan"}}}
            for c in _apply_targets(driver, 10)
        ],
        "requested_by": REQUESTER,
        "reason": "b",
    }
    records = driver.execute_query(
        "MATCH (c:Component {environment: $e}) RETURN c.id AS id ORDER BY id", e=generator.PROBE_ENV
    ).records
    for cid in [r["id"] for r in records][::7]:
        bodies[f"probe|{cid}|tags"] = update(cid, "p")
        bodies[f"probe|{cid}|delete"] = {
            "changes": [{"op": "delete", "component": cid}],
            "requested_by": REQUESTER,
            "reason": "b",
        }
    return bodies


def _file(out: Path, name: str) -> Path:
    return out / (hashlib.sha256(name.encode()).hexdigest()[:24] + ".json")


def dump(out: Path) -> dict:
    from karma_tools import neo4j_local  # noqa: PLC0415
    from karma_tools.bench import harness, steps  # noqa: PLC0415
    from app.graph.driver import Target, open_driver  # noqa: PLC0415
    from app.graph.repository import GraphRepository  # noqa: PLC0415

    # plan ids are signed: one fixed secret, so two dumps (two checkouts, two secret files) compare
    os.environ.setdefault("KARMA_PLAN_SECRET", "karma-plan-bytes")
    cfg = harness.BenchConfig()
    settings = neo4j_local.LocalNeo4jSettings.from_env(harness.neo4j_env(cfg))
    neo4j_local.start(settings)
    info = neo4j_local.connection_info(settings)
    driver = open_driver(Target("local", info["uri"], (info["user"], info["password"])))
    try:
        app, _policy = harness.make_app(GraphRepository(driver), cfg.rules_dir)
        harness.create_token(app)
        client = app.test_client()
        out.mkdir(parents=True, exist_ok=True)
        index = {}
        for name, body in _bodies(driver).items():
            for _ in range(4):  # a cold server may answer 503 to the first reads
                response = client.post("/plan", json=body, headers=steps.HEADERS)
                if response.status_code != 503:
                    break
            data = response.get_data()
            index[name] = [response.status_code, hashlib.sha256(data).hexdigest()]
            _file(out, name).write_bytes(data)
        (out / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True), encoding="utf-8")
        return index
    finally:
        driver.close()


def _canonical(value):
    if isinstance(value, dict):
        return {
            k: sorted((_canonical(i) for i in v), key=json.dumps)
            if k in STORE_ORDERED and isinstance(v, list)
            else _canonical(v)
            for k, v in value.items()
        }
    if isinstance(value, str) and "dangling references: " in value:  # the 409's message names them in order
        head, tail = value.split("dangling references: ", 1)
        names, rest = tail.split("; ", 1)
        return head + ", ".join(sorted(names.split(", "))) + rest
    if isinstance(value, list):
        return [_canonical(i) for i in value]
    return value


def compare(a: Path, b: Path) -> list[str]:
    """The names of the plans whose answers differ: in status, or in values beyond the order of
    store-ordered lists. Answers whose texts differ but whose values are the same (the encoder's form:
    `→` or `\\u2192`, `0.00001` or `1e-05`) are counted apart."""
    left = json.loads((a / "index.json").read_text(encoding="utf-8"))
    right = json.loads((b / "index.json").read_text(encoding="utf-8"))
    if set(left) != set(right):
        return sorted(set(left) ^ set(right))
    same = [n for n in left if left[n] == right[n]]
    differ, encoded = [], []
    for name in (n for n in left if left[n] != right[n]):
        x, y = (json.loads(_file(d, name).read_text(encoding="utf-8")) for d in (a, b))
        if left[name][0] != right[name][0] or _canonical(x) != _canonical(y):
            differ.append(name)
        elif x == y:
            encoded.append(name)
    print(
        f"{len(same)} byte-identical, {len(encoded)} with the same values in another text form, "
        f"{len(left) - len(same) - len(encoded) - len(differ)} identical but for store-ordered lists"
    )
    return differ


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "dump":
        index = dump(Path(argv[1]))
        print(f"{len(index)} plans; statuses {sorted({v[0] for v in index.values()})}")
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        differ = compare(Path(argv[1]), Path(argv[2]))
        print(f"DIFFERENT: {differ}" if differ else "no plan differs")
        return 1 if differ else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
