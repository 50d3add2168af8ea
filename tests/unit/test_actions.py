from app.changes.actions import layer, propagation_edges


def row(cid, action="redeploy", depth=1):
    return {
        "id": cid,
        "type": cid.split("/")[0],
        "action": action,
        "depth": depth,
        "path": ["vpc/v", cid],
        "edge_kinds": ["depends_on"],
    }


def test_propagation_direction_per_edge_kind():
    edges = [
        {"source": "subnet/s", "target": "vpc/v", "kind": "depends_on"},
        {"source": "lambda/l", "target": "openapi/o", "kind": "consumes_runtime_from"},
        {"source": "serverless-site/s", "target": "route53-zone/z", "kind": "emits_runtime_to"},
    ]
    assert propagation_edges(edges) == [
        ("vpc/v", "subnet/s"),
        ("openapi/o", "lambda/l"),
        ("serverless-site/s", "route53-zone/z"),
    ]


def test_real_deploy_order_vpc_ecs_clickhouse_lambda_openapi_api():
    # karma's own deploy scripts: vpc → ecs-cluster → clickhouse → lambda → openapi → serverless-api
    edges = [
        {"source": "ecs-cluster/c", "target": "vpc/v", "kind": "depends_on"},
        {"source": "clickhouse/h", "target": "ecs-cluster/c", "kind": "depends_on"},
        {"source": "clickhouse/h", "target": "vpc/v", "kind": "depends_on"},
        {"source": "lambda/l", "target": "vpc/v", "kind": "depends_on"},
        {"source": "lambda/l", "target": "clickhouse/h", "kind": "consumes_runtime_from"},
        {"source": "openapi/o", "target": "lambda/l", "kind": "consumes_runtime_from"},
        {"source": "serverless-api/a", "target": "openapi/o", "kind": "consumes_runtime_from"},
    ]
    changed = {"id": "vpc/v", "type": "vpc", "action": "reapply"}
    rows = [row(c) for c in ["ecs-cluster/c", "clickhouse/h", "lambda/l", "openapi/o", "serverless-api/a"]]
    layers, stuck = layer([changed["id"], *(r["id"] for r in rows)], propagation_edges(edges))
    order = [c for ids in layers for c in ids]
    assert order == ["vpc/v", "ecs-cluster/c", "clickhouse/h", "lambda/l", "openapi/o", "serverless-api/a"]
    assert stuck == []


def test_independent_consumers_share_a_wave():
    edges = [
        {"source": "subnet/a", "target": "vpc/v", "kind": "depends_on"},
        {"source": "subnet/b", "target": "vpc/v", "kind": "depends_on"},
    ]
    layers, _ = layer(["vpc/v", "subnet/a", "subnet/b"], propagation_edges(edges))
    assert layers == [["vpc/v"], ["subnet/a", "subnet/b"]]


def test_a_cycle_is_reported_not_looped_on():
    edges = [
        {"source": "lambda/a", "target": "vpc/v", "kind": "depends_on"},
        {"source": "lambda/b", "target": "lambda/a", "kind": "depends_on"},
        {"source": "lambda/a", "target": "lambda/b", "kind": "depends_on"},
    ]
    layers, stuck = layer(["vpc/v", "lambda/a", "lambda/b"], propagation_edges(edges))
    assert layers == [["vpc/v"]] and stuck == ["lambda/a", "lambda/b"]


def test_a_plan_puts_a_cycle_in_its_own_wave_after_the_ordered_ones():
    """set_actions (the wave plan of every change): the changed component, then what can be ordered,
    then the components of a cycle in one last wave, each marked `cycle`; every row once, numbered."""
    from app.changes.set_analysis import OperationAnalysis, set_actions
    from app.changes.set_graph import GraphState
    from app.changes.sets import Operation

    def node(cid):
        return {"id": cid, "type": cid.split("/")[0], "nickname": cid.split("/")[1], "environment": "dev",
                "version": 1, "config": {}, "runtime": {}}  # fmt: skip

    edges = [("lambda/a", "vpc/v", "depends_on"), ("lambda/b", "lambda/a", "depends_on"),
             ("lambda/a", "lambda/b", "depends_on"), ("subnet/s", "vpc/v", "depends_on")]  # fmt: skip
    ids = ["lambda/a", "lambda/b", "subnet/s"]
    state = GraphState(
        {
            "refs": [],
            "touched": [
                {
                    "component": node("vpc/v"),
                    "impacted": [node(i) for i in ids],
                    "edges": [(s, t, k, None) for s, t, k in edges],  # as decoded from the read
                    "referrers": [],
                }
            ],
        }
    )
    impact = state.impact("vpc/v")
    op = OperationAnalysis(0, 0, Operation("update", "vpc/v"), node("vpc/v"), {}, [], [], [], impact)
    op.flow = state.flow_among({"vpc/v", *ids})
    waves = set_actions([op], state)["waves"]
    assert [[(r["component"], r["wave"], r.get("cycle", False)) for r in w] for w in waves] == [
        [("vpc/v", 0, False)],
        [("subnet/s", 1, False)],
        [("lambda/a", 2, True), ("lambda/b", 2, True)],
    ]
    assert list(waves[2][0]) == ["component", "type", "action", "reason", "cycle", "wave"]


def test_the_state_answers_flows_and_impact_for_the_edges_as_they_are_now():
    """GraphState keeps its walk adjacency, its by-target index and its flows per set of ids while its
    edges stay as they are (issue 21): another set of ids gets its own flows, and a removed component's
    edges leave every answer."""
    from app.changes.set_graph import GraphState

    def node(cid):
        return {"id": cid, "type": cid.split("/")[0], "nickname": cid.split("/")[1], "environment": "dev",
                "version": 1, "config": {}, "runtime": {}}  # fmt: skip

    ids = ["subnet/s", "ec2-instance/i", "subnet/t"]
    edges = [("subnet/s", "vpc/v", "depends_on"), ("ec2-instance/i", "subnet/s", "depends_on"),
             ("subnet/t", "vpc/v", "depends_on")]  # fmt: skip
    state = GraphState(
        {
            "refs": [],
            "touched": [
                {
                    "component": node("vpc/v"),
                    "impacted": [node(i) for i in ids],
                    "edges": [(s, t, k, "x") for s, t, k in edges],
                    "referrers": [],
                }
            ],
        }
    )
    assert [r["id"] for r in state.impact("vpc/v")] == ["subnet/s", "subnet/t", "ec2-instance/i"]
    assert state.flow_among({"vpc/v", "subnet/s"}) == {("vpc/v", "subnet/s")}
    assert state.flow_among({"subnet/s", "ec2-instance/i"}) == {("subnet/s", "ec2-instance/i")}
    state.remove("subnet/s")
    assert [r["id"] for r in state.impact("vpc/v")] == ["subnet/t"]
    assert state.flow_among({"vpc/v", "subnet/s"}) == set()


def test_the_state_keeps_edges_and_referrers_in_one_order_whatever_the_store_order():
    """A delete answers with its edges_removed and a 409 with its referrers: the same for two loads of
    one world, whose stores may keep the edges in another order."""
    from app.changes.set_graph import GraphState

    def state(reverse: bool) -> GraphState:
        def order(rows):
            return list(reversed(rows)) if reverse else rows

        outgoing = [{"target": "vpc/v", "kind": "depends_on", "via": "vpc_nickname"},
                    {"target": "s3-bucket/b", "kind": "depends_on", "via": "s3_bucket_nickname"}]  # fmt: skip
        referrers = [{"source": "lambda/z", "kind": "depends_on", "via": "lambda_nicknames"},
                     {"source": "lambda/y", "kind": "depends_on", "via": "lambda_nicknames"}]  # fmt: skip
        explicit = [{"source": "lambda/x", "target": "vpc/v", "kind": "depends_on", "via": "seed"},
                    {"source": "lambda/x", "target": "s3-bucket/c", "kind": "depends_on", "via": "seed"}]  # fmt: skip
        node = {"id": "lambda/x", "type": "lambda", "nickname": "x", "environment": "dev", "version": 1}
        return GraphState(
            {
                "refs": [],
                "touched": [
                    {
                        "component": node,
                        "impacted": [],
                        "edges": [],
                        "referrers": order(referrers),
                        "outgoing": order(outgoing),
                        "explicit_edges": order(explicit),
                    }
                ],
            }
        )

    one, other = state(False), state(True)
    assert one.referrers == other.referrers and [r["source"] for r in one.referrers["lambda/x"]] == [
        "lambda/y",
        "lambda/z",
    ]
    assert one.explicit == other.explicit and [e["target"] for e in one.explicit["lambda/x"]] == [
        "s3-bucket/c",
        "vpc/v",
    ]
    assert one.outgoing == other.outgoing and [e["target"] for e in one.outgoing["lambda/x"]] == [
        "s3-bucket/b",
        "vpc/v",
    ]
