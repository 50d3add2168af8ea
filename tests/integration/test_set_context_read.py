"""The set context read (cypher/change_set_context.cypher) reaches what cypher/impact.cypher reaches,
with the same rows and edges — for every component of the karma world (sites emit to distributions and
zones, so the emits hop is exercised) and for the whole world as one set (issue 21: the read's pruned
traversal replaced impact.cypher's ANY SHORTEST). Its rows come in no particular order and without
depths: the set's analysis walks those from the edges (app/changes/set_graph.py), and a single change's
plan is the same as before (tests/integration/test_change_sets.py, the bench's plan_bytes)."""

KEYS = ("type", "nickname", "environment", "version", "config", "runtime", "drift")


def _rows(rows: list[dict]) -> dict[str, dict]:
    return {r["id"]: {k: r[k] for k in KEYS} for r in rows}


def test_each_component_reaches_what_impact_cypher_reaches(world):
    ids = world.component_ids()
    assert len(ids) > 20
    emitting = 0
    for cid in ids:
        single = world.impact(cid)
        (touched,) = world.change_set_context([cid], [])["touched"]
        assert len(touched["impacted"]) == len(single["impacted"]), cid
        assert _rows(touched["impacted"]) == _rows(single["impacted"]), cid
        assert sorted(touched["edges"]) == sorted(
            (e["source"], e["target"], e["kind"], e["via"]) for e in single["edges"]
        ), cid
        emitting += any("emits_runtime_to" in r["edge_kinds"] for r in single["impacted"])
    assert emitting  # the emits hop was exercised


def test_a_set_of_every_component_reads_each_impact_as_alone(world):
    ids = sorted(world.component_ids())
    together = {t["component"]["id"]: t for t in world.change_set_context(ids, [])["touched"]}
    assert sorted(together) == ids
    for cid in ids[::5]:
        (alone,) = world.change_set_context([cid], [])["touched"]
        assert _rows(together[cid]["impacted"]) == _rows(alone["impacted"])
        assert sorted(together[cid]["edges"]) == sorted(alone["edges"])
