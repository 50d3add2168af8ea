"""The queue has one order: what a queue pass runs next (queue_head), the Queue page's and GET /queue's
places (queue_list) and a change's own place (change_get's queue_place) read cypher/_queue_order.cypher.
The Queue page ordered a line by its sequence number only, and a set that only creates components has
none: its places then followed no order at all, while the pass took the oldest first."""

from __future__ import annotations

from datetime import datetime, timezone

LINE = "serverless-site/karma-new"  # a set of creates: its first component has no node, its changes no seq


def queued(driver, change_id: str, created_at: datetime) -> None:
    """A queued change request as a create-only set's is stored (the test's own setup, read by the app)."""
    driver.execute_query(
        "CREATE (:ChangeRequest {id: $id, component_id: $line, component_ids: [$line], status: 'queued',"
        " requested_by: 'ted@strall.com', created_at: $at, updated_at: $at, request: '{}'})",
        id=change_id,
        line=LINE,
        at=created_at,
    )


def test_every_place_reads_the_queue_pass_order(empty_graph, driver):
    repo = empty_graph
    # stored newest first, and the oldest's id sorting last: neither store order nor id is the queue's
    queued(driver, "chg-aaaa00000002", datetime(2026, 12, 7, 10, 5, tzinfo=timezone.utc))
    queued(driver, "chg-zzzz00000001", datetime(2026, 12, 7, 10, 0, tzinfo=timezone.utc))
    head = repo.in_write_tx(lambda gtx: gtx.queue_head(LINE))["id"]
    assert head == "chg-zzzz00000001"
    assert [c["id"] for c in repo.queue()] == [head, "chg-aaaa00000002"]  # the Queue page, GET /queue
    assert [c["id"] for c in repo.queue(LINE)] == [head, "chg-aaaa00000002"]
    assert repo.change("chg-aaaa00000002")["queue_place"]["place"] == 2  # the change's page
