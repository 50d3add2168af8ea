"""A large change set (a `karma seed` of a new estate into a non-empty graph: hundreds of creates naming
each other) costs the set's size, not its square: the order and the references are indexed once per set,
not rebuilt for every operation (1,000 creates took 34 s of Python and outlasted the transaction). And a
set stored for later (an approval) keeps what an import attached to it."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from app.changes import set_graph, sets
from app.changes.gate import _context_args
from app.changes.set_analysis import analyse_set
from app.changes.sets import ChangeSet
from app.components import references
from app.ruletools.fixture import FixtureGraph
from app.seeding import read_file

WORLD = Path(__file__).resolve().parents[2] / "seed" / "karma-world.yaml"
SUBNETS = 60


def _estate(subnets: int = SUBNETS) -> ChangeSet:
    """Subnets in the karma world's dev VPC, an instance in each, the instances listed first (each is
    ordered after the subnet it names): 2 × `subnets` creates, each adding an edge."""
    instances = [
        {
            "op": "create",
            "component": f"ec2-instance/scale-{i}",
            "environment": "dev",
            "config": {"subnet_nickname": f"scale-{i}", "instance_type": "t3.micro", "ami": "ami-0abc1234"},
        }
        for i in range(subnets)
    ]
    blocks = [f"10.42.{100 + i // 16}.{(i % 16) * 16}/28" for i in range(subnets)]  # up to 2,496 in the VPC
    created = [
        {
            "op": "create",
            "component": f"subnet/scale-{i}",
            "environment": "dev",
            "config": {"vpc_nickname": "karma-dev", "cidr_block": blocks[i]},
        }
        for i in range(subnets)
    ]
    return ChangeSet.from_dict({"changes": instances + created, "requested_by": "ted@strall.com"})


def test_a_large_set_is_ordered_and_resolved_in_one_pass(monkeypatch):
    change_set = _estate()
    ids, ref_ids, ref_values, _referrers, siblings = _context_args(change_set)
    ctx = FixtureGraph(read_file(WORLD)).set_context(ids, ref_ids, ref_values, siblings)
    calls = {"by_name": 0, "split_id": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(references, "by_name", counted("by_name", references.by_name))
    monkeypatch.setattr(sets, "split_id", counted("split_id", sets.split_id))
    analysis = analyse_set(change_set, ctx, mode="full")
    order = [o.component["id"] for o in analysis.operations]
    n = len(change_set.operations)
    # each instance after the subnet it names; otherwise the request's order (the first one ready first)
    assert order == [c for i in range(SUBNETS) for c in (f"subnet/scale-{i}", f"ec2-instance/scale-{i}")]
    assert calls["by_name"] == 1, calls  # the candidates by nickname: built once, then added to
    assert calls["split_id"] <= 4 * n, calls  # each operation's id read a few times, not once per pair
    # every operation's facts name the set's components: one list, not one per operation (a 6,000-operation
    # import held 36 million references), equal to the set's ids
    named = {id(o.facts["set_components"]) for o in analysis.operations}
    assert len(named) == 1 and analysis.operations[0].facts["set_components"] == change_set.component_ids


def test_an_imports_refused_drift_is_kept_by_the_stored_request():
    """A set that waits for an approver is stored as its dict and applied from it: the import's refused
    files must survive that round trip, or an approved import would never record them."""
    body = {"changes": [{"op": "delete", "component": "vpc/a"}], "requested_by": "cli:tester"}
    refused = {"component_ids": ["vpc/b"], "entries": [{"kind": "contract", "component": "vpc/b"}]}
    stored = ChangeSet.from_dict({**body, "refused_drift": refused}).to_dict()
    assert ChangeSet.from_dict(stored).refused_drift == refused
    assert "refused_drift" not in ChangeSet.from_dict(body).to_dict()  # every other request is stored as it was


def test_a_large_set_keeps_one_edge_index_up_to_date(monkeypatch):
    """Each create adds edges; the state's index follows them instead of being built again (a set of 2,000
    creates rebuilt it 2,000 times, and each sibling row as often: its analysis grew with the square of
    its size). Counted, not timed: the index and its walk are built once, each sibling row once per node."""
    change_set = _estate(150)
    ids, ref_ids, ref_values, _referrers, siblings = _context_args(change_set)
    ctx = FixtureGraph(read_file(WORLD)).set_context(ids, ref_ids, ref_values, siblings)
    built = {"index": 0, "walk": 0, "sibling rows": 0}
    index_init, walk = set_graph._EdgeIndex.__init__, set_graph._EdgeIndex.walk.func
    row = set_graph.sibling_row

    def counting(name, fn):
        def wrapper(*args, **kwargs):
            built[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(set_graph._EdgeIndex, "__init__", counting("index", index_init))
    monkeypatch.setattr(set_graph._EdgeIndex, "walk", cached_property(counting("walk", walk)))
    set_graph._EdgeIndex.walk.__set_name__(set_graph._EdgeIndex, "walk")
    monkeypatch.setattr(set_graph, "sibling_row", counting("sibling rows", row))
    analysis = analyse_set(change_set, ctx, mode="full")
    assert len(analysis.operations) == 300
    assert built["index"] == 1 and built["walk"] <= 1, built  # (creates have no impact to walk)
    assert built["sibling rows"] <= 300, built  # each created subnet, instance: a row once it is a sibling


def _same_index(state: set_graph.GraphState) -> None:
    """The state's index, kept up to date, is the index built afresh from its edges."""
    kept, fresh = state._indexed(), set_graph._EdgeIndex(set(state.edges))
    for name in ("out", "into"):
        got = {k: sorted(v, key=str) for k, v in getattr(kept, name).items() if v}
        assert got == {k: sorted(v, key=str) for k, v in getattr(fresh, name).items()}, name
    assert [{k: v for k, v in part.items() if v} for part in kept.walk] == list(fresh.walk)
    for target, edges in kept._into_sorted.items():  # the siblings' lookup: by source, every edge in
        assert [e[0] for e in edges] == sorted(e[0] for e in edges), target
        assert sorted(edges, key=str) == sorted(fresh.into.get(target, []), key=str), target


def test_the_kept_index_is_the_index_built_afresh():
    """Edges added and dropped in every way an operation changes them (several vias for one source,
    target and kind: the walk keeps the first by text), a component removed, an edge set assigned."""
    import random

    world = read_file(WORLD)
    every = [{"op": "update", "component": c["id"], "proposed_change": {}} for c in world["components"]]
    args = _context_args(ChangeSet.from_dict({"changes": every, "requested_by": "ted@strall.com"}))
    state = set_graph.GraphState(FixtureGraph(world).set_context(*args[:3], args[4]))  # the whole world
    assert len(state.nodes) > 30 and len(state.edges) > 40
    state._indexed().walk, state._indexed().out, state._indexed().into  # built, so each change updates them
    nodes = sorted(state.nodes)
    for node in nodes:
        state._indexed().into_by_source(node)
    rng = random.Random(7)
    kinds = ("depends_on", "consumes_runtime_from", "emits_runtime_to")
    for step in range(300):
        edges = set(state.edges)
        if step % 50 == 49:
            state.remove(rng.choice(nodes))
        elif rng.random() < 0.5 and edges:
            state.edges = edges - set(rng.sample(sorted(edges, key=str), k=min(3, len(edges))))
        else:
            s, t = rng.sample(nodes, 2)
            state.edges = edges | {(s, t, rng.choice(kinds), rng.choice(["a_key", "b_key", None, "seed"]))}
        _same_index(state)
        node = rng.choice(nodes)
        providers = state.providers(node) | {(rng.choice(nodes), rng.choice(["a_key", "b_key"]))}
        if state.exists(node):
            type_name = state.nodes[node]["type"]
            found = [r["id"] for r in state.siblings(node, type_name, providers)]
            assert found == _siblings_by_hand(state, node, type_name, providers)

    # siblings through two providers, each through its own key: two named through both (each once), one
    # through each only (each provider's own key is read)
    by_type: dict[str, list[str]] = {}
    for node in nodes:
        if state.exists(node):
            by_type.setdefault(state.nodes[node]["type"], []).append(node)
    x, y, only_a, only_b, z = next(same for same in by_type.values() if len(same) >= 5)[:5]
    p1, p2 = [n for n in nodes if state.nodes[n]["type"] != state.nodes[z]["type"]][:2]
    named = {(s, p, "depends_on", key) for s in (x, y) for p, key in ((p1, "a_key"), (p2, "b_key"))}
    named |= {(only_a, p1, "depends_on", "a_key"), (only_b, p2, "depends_on", "b_key")}
    state.edges = set(state.edges) | named
    asked = {(p1, "a_key"), (p2, "b_key")}
    found = [r["id"] for r in state.siblings(z, state.nodes[z]["type"], asked)]
    assert found == _siblings_by_hand(state, z, state.nodes[z]["type"], asked)
    assert {x, y, only_a, only_b} <= set(found) and len(found) == len(set(found))


def _siblings_by_hand(state, node: str, type_name: str, providers: set) -> list[str]:
    same = {
        s
        for s, t, k, v in state.edges
        if (t, v) in providers and k == "depends_on" and s != node
        if state.exists(s) and state.nodes[s]["type"] == type_name
    }
    return sorted(same)[: set_graph.MAX_SIBLINGS]
