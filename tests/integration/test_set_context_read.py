"""The set context read (cypher/change_set_context.cypher) reaches what cypher/impact.cypher reaches,
with the same rows and edges — for every component of the karma world (sites emit to distributions and
zones, so the emits hop is exercised) and for the whole world as one set (issue 21: the read's pruned
traversal replaced impact.cypher's ANY SHORTEST). Its rows come in no particular order and without
depths: the set's analysis walks those from the edges (app/changes/set_graph.py), and a single change's
plan is the same as before (tests/integration/test_change_sets.py, the bench's plan_bytes)."""

from app.graph.codec import loads
from app.graph.repository import set_context_params

KEYS = ("type", "nickname", "environment", "version", "config", "runtime", "drift")


def _rows(rows: list[dict]) -> dict[str, dict]:
    return {r["id"]: {k: r[k] for k in KEYS} for r in rows}


def _impact_cypher(world, cid: str) -> dict:
    """cypher/impact.cypher's rows (config and runtime decoded) and edges: the definition of what a change
    reaches, which the set read is held to."""
    row = world.read("impact", id=cid, ref_ids=[], ref_values=[])
    rows = [{**r, "config": loads(r["config"]), "runtime": loads(r["runtime"])} for r in row["impacted"]]
    return {"impacted": rows, "edges": row["edges"]}


def test_each_component_reaches_what_impact_cypher_reaches(world):
    ids = world.component_ids()
    assert len(ids) > 20
    emitting = 0
    for cid in ids:
        single = _impact_cypher(world, cid)
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


# The sibling groups of one touched component, as the read made them before each group was read once for
# the whole set: per provider it depends on, the others of its type depending on it through the same key,
# the first 256 by id. Fixed here as the definition the shared read must keep.
PER_COMPONENT_GROUPS = """
MATCH (x:Component {id: $id})
OPTIONAL MATCH (x)-[r:DEPENDS_ON]->(p:Component)
CALL (x, r, p) {
  OPTIONAL MATCH (p)<-[r2:DEPENDS_ON]-(s:Component)
  WHERE s <> x AND s.type = x.type AND r2.via = r.via
  WITH s ORDER BY s.id LIMIT 256
  RETURN collect(s.id) AS members
}
RETURN collect(CASE WHEN p IS NULL THEN NULL ELSE [p.id, r.via, members] END) AS groups
"""


def test_a_set_of_siblings_reads_their_group_once_and_each_sees_its_own(client, driver, repo):
    # 300 subnets of one VPC: more than a group holds (256), so the cut matters at both ends
    subnets = [f"subnet/karma-dev-sib-{i:03d}" for i in range(300)]
    created = client.post(
        "/request-change",
        json={
            "requested_by": "ted@strall.com",
            "changes": [
                {
                    "op": "create",
                    "component": cid,
                    "environment": "dev",
                    "config": {"vpc_nickname": "karma-dev", "cidr_block": f"10.44.{i // 16}.{(i % 16) * 16}/28"},
                }
                for i, cid in enumerate(subnets)
            ],
        },
    )
    assert created.status_code == 200 and created.get_json()["status"] == "applied", created.get_json()
    # every subnet of the VPC, the seeded ones too (ids sort before and after the new ones)
    ids = sorted(
        c["id"] for c in repo.list_components(type_="subnet", environment=None, skip=0, limit=1000, name=None)["items"]
    )
    assert len(ids) > 300
    touched = {t["component"]["id"]: t for t in repo.change_set_context(ids, [])["touched"]}
    with driver.session() as session:
        for cid in ids:
            (expected,) = session.run(PER_COMPONENT_GROUPS, id=cid).single()
            got = [[g["provider"], g["via"], [m["id"] for m in g["members"]]] for g in touched[cid]["sibling_groups"]]
            assert got == expected, cid
    sizes = {len(g["members"]) for t in touched.values() for g in t["sibling_groups"]}
    assert 256 in sizes  # the cut was exercised
    # and the read sent each shared group once: one member more than a group, not one group per subnet
    read = repo.read("change_set_context", **set_context_params(ids, [], [], [], []))
    assert [len(g["members"]) for g in read["shared_siblings"] if g["provider"] == "vpc/karma-dev"] == [257]
    assert all("sibling_groups" not in t for t in read["touched"])
