"""The set context read (cypher/change_set_context.cypher + app/graph/reach.py) reaches what
cypher/impact.cypher reaches, in the same order, with the same depths and edges — for every component of
the karma world (sites emit to distributions and zones, so the emits hop is exercised) and for the whole
world as one set (issue 21: the read's pruned traversal replaced impact.cypher's ANY SHORTEST)."""


def _edge_tuples(edges: list[dict]) -> list[tuple]:
    return [(e["source"], e["target"], e["kind"], e["via"]) for e in edges]


def test_each_component_reaches_what_impact_cypher_reaches(world):
    ids = world.component_ids()
    assert len(ids) > 20
    emitting = 0
    for cid in ids:
        single = world.impact(cid)
        (touched,) = world.change_set_context([cid], [])["touched"]
        assert [(r["id"], r["depth"]) for r in touched["impacted"]] == [
            (r["id"], r["depth"]) for r in single["impacted"]
        ], cid
        assert _edge_tuples(touched["edges"]) == _edge_tuples(single["edges"]), cid
        keys = ("type", "nickname", "environment", "version", "config", "runtime", "drift")
        assert [{k: r[k] for k in keys} for r in touched["impacted"]] == [
            {k: r[k] for k in keys} for r in single["impacted"]
        ], cid
        emitting += any("emits_runtime_to" in r["edge_kinds"] for r in single["impacted"])
    assert emitting  # the emits hop was exercised


def test_a_set_of_every_component_reads_each_impact_as_alone(world):
    ids = sorted(world.component_ids())
    together = {t["component"]["id"]: t for t in world.change_set_context(ids, [])["touched"]}
    assert sorted(together) == ids
    for cid in ids[::5]:
        (alone,) = world.change_set_context([cid], [])["touched"]
        assert together[cid]["impacted"] == alone["impacted"]
        assert together[cid]["edges"] == alone["edges"]
