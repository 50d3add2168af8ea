"""app/graph/reach.py: each row's depth is the length of its shortest path under cypher/impact.cypher's
pattern — backward hops, at most one emits_runtime_to hop, at most 25 backward hops on each side of it."""

from app.graph.reach import depths, ordered_context


def dep(consumer: str, provider: str) -> list:
    return [consumer, provider, "depends_on", "k"]  # as the read returns an edge: source, target, kind, via


def emit(emitter: str, target: str) -> list:
    return [emitter, target, "emits_runtime_to", "k"]


def chain(start: str, prefix: str, n: int) -> list[list]:
    """prefix1 depends on start, prefix2 on prefix1, … (n backward hops from start)."""
    names = [start] + [f"{prefix}{i}" for i in range(1, n + 1)]
    return [dep(b, a) for a, b in zip(names, names[1:], strict=False)]


def test_backward_hops_then_one_emits_hop_then_backward_hops():
    edges = [dep("a", "x"), dep("b", "a"), emit("x", "t"), dep("c", "t"), emit("t", "u"), dep("x", "p")]
    # u: a second emits hop (not followed); p: x's own provider (a forward depends_on hop, not followed)
    assert depths("x", edges) == {"a": 1, "b": 2, "t": 1, "c": 2}


def test_fifty_backward_hops_without_an_emit():
    found = depths("x", chain("x", "n", 51))
    assert found["n50"] == 50 and "n51" not in found


def test_the_emits_hop_only_within_25_backward_hops_and_25_after_it():
    edges = chain("x", "n", 26) + [emit("n25", "t"), emit("n26", "far")] + chain("t", "m", 26)
    found = depths("x", edges)
    assert found["t"] == 26 and found["m25"] == 51 and "m26" not in found and "far" not in found


def test_a_later_emit_with_fewer_hops_after_it_reaches_further():
    # early emit: x → t, 20 hops back to n; late emit: 9 hops back to e → b, 12 back to n (j = 12).
    # z, 10 hops behind n, is 30 hops after the early emit (too many) but 22 after the late one.
    edges = [emit("x", "t")] + chain("t", "s", 19) + [dep("n", "s19")]
    edges += chain("x", "e", 9) + [emit("e9", "b")] + chain("b", "r", 11) + [dep("n", "r11")]
    edges += chain("n", "z", 10)
    found = depths("x", edges)
    assert found["n"] == 21 and found["z10"] == 9 + 1 + 12 + 10


def test_rows_ordered_by_depth_then_id_and_edges_by_their_source():
    row = {
        "touched": [
            {
                "component": {"id": "x"},
                "impacted": [{"id": "b"}, {"id": "c"}, {"id": "a"}],
                "edges": [[1, "a", "depends_on", "k"], [3, "x", "depends_on", "k"], [2, "x", "depends_on", "k"]],
            }
        ]
    }
    (item,) = ordered_context(row)["touched"]
    assert [(r["id"], r["depth"]) for r in item["impacted"]] == [("a", 1), ("c", 1), ("b", 2)]
    assert [r["path"] for r in item["impacted"]] == [None, None, None]
    assert [e["source"] for e in item["edges"]] == ["a", "c", "b"]
    assert item["edges"][0] == {"source": "a", "target": "x", "kind": "depends_on", "via": "k"}
