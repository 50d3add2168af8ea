"""A page of the audit log (GET /log) or the change list (GET /changes) costs what it holds, not the size of
the log: read in the timestamp index's order, newest first, as far as the page and the matches counted ahead
of it (app.paging), its total the count store's when nothing filters. Asserted on plans and on the rows an
operator produced (PROFILE) — nothing here is timed — and on answers: every page, order, filter and total as
an exact count of the whole log says they are."""

from __future__ import annotations

from datetime import UTC

import pytest

from app.audit.entries import actor
from app.paging import counted_up_to
from app.security.audit import RefusalAudit
from karma_tools.bench.roundtrips import RoundTrips
from tests.integration import test_console as console

SITE, STAGING = "serverless-site/karma-dev", "serverless-site/karma-staging"
REFUSED = 60  # refused calls, audited: a log of a few dozen entries more than a page
WHO = ("ann@strall.com", "bob@strall.com", "anonymous")


@pytest.fixture
def history(client, repo):
    """A log and a change list: changes through the gate (applied on SITE, queued on STAGING, two requesters)
    and refused calls audited (three identities, some naming SITE)."""
    for i in range(6):
        body = {"component": SITE, "proposed_change": {"cloudfront_aliases": [f"a{i}.x"]}}
        if i % 2:
            body = {"component": STAGING, "on_blocked": "queue", "proposed_change": {"cloudfront_aliases": [f"b{i}.x"]}}
        body["requested_by"] = ("ted@strall.com", "ops@usekarma.dev")[i % 3 == 0]
        assert client.post("/request-change", json=body).status_code == 200
    audit = RefusalAudit(repo)
    for i in range(REFUSED):
        audit.record(
            status=401 if i % 4 else 403, cause="test", who=WHO[i % 3], token_id=None, method="GET",
            path="/components", component_id=SITE if i % 5 == 0 else None, message=f"refused {i}",
        )  # fmt: skip
    client.get("/log")  # the reading identity's token (its making is an entry of the log) made before it is read
    return client


def _log(repo) -> list[dict]:
    """The whole log as the listing orders it (timestamp, then id, newest first), read in one go."""
    rows = repo.driver.execute_query("MATCH (a:AuditEntry) RETURN a {.*} AS a").records
    entries = [r["a"] for r in rows]
    return sorted(entries, key=lambda e: (e["timestamp"], e["id"]), reverse=True)


def _every_page(client, path: str, size: int) -> tuple[list[str], list[dict]]:
    ids, answers = [], []
    for number in range(1, 100):
        answer = client.get(f"{path}{'&' if '?' in path else '?'}page={number}&page_size={size}").get_json()
        answers.append(answer)
        ids += [item["id"] for item in answer["items"]]
        if not answer["items"]:
            return ids, answers
    raise AssertionError("no last page")


def test_the_log_pages_filters_and_totals_are_those_of_the_whole_log(history, repo):
    """Every page of every filter, put together, is the whole log filtered and ordered as before; the total
    is exact while it is counted in full, and a lower bound (`total_is_lower_bound`) once a filter matches
    more than its page and the ten pages past it."""
    log = _log(repo)
    at = log[len(log) // 2]["timestamp"]
    middle = at.to_native().astimezone(UTC).isoformat().replace("+00:00", "Z")
    cases = {
        "/log": lambda e: True,
        "/log?status=unauthorized": lambda e: e["status"] == "unauthorized",
        "/log?status=applied": lambda e: e["status"] == "applied",
        "/log?requested_by=ann@strall.com": lambda e: e["requested_by"] == "ann@strall.com",
        "/log?actor=ted@strall.com": lambda e: actor(e) == "ted@strall.com",
        f"/log?since={middle}": lambda e: e["timestamp"] >= at,
        f"/log?until={middle}&status=unauthorized": lambda e: e["timestamp"] < at and e["status"] == "unauthorized",
    }
    for path, wanted in cases.items():
        history.get(path)  # the identity it is read as (requested_by=…) has its token, made and logged, first
        expected = [e for e in _log(repo) if wanted(e)]
        for size in (2, 7):
            ids, answers = _every_page(history, path, size)
            assert ids == [e["id"] for e in expected], (path, size)
            for number, answer in enumerate(answers, 1):
                bound = counted_up_to((number - 1) * size, size)
                if "?" in path and len(expected) >= bound:
                    assert (answer["total"], answer["total_is_lower_bound"]) == (bound, True), (path, number)
                else:
                    assert (answer["total"], answer["total_is_lower_bound"]) == (len(expected), False), (path, number)
    unauthorized = [e for e in _log(repo) if e["status"] == "unauthorized"]
    assert len(unauthorized) >= counted_up_to(0, 2)  # a lower bound was said


def test_a_components_log_and_changes_are_all_counted_from_its_node(history, repo):
    """By component the cost is that component's history, read from its node: every entry counted, the
    same pages and totals as the whole log filtered by it."""
    log = _log(repo)
    linked = {
        r["id"]
        for r in repo.driver.execute_query(
            "MATCH (a:AuditEntry)-[:FOR|AFFECTED]->(:Component {id: $c}) RETURN a.id AS id", c=SITE
        ).records
    }
    expected = [e["id"] for e in log if e["id"] in linked or e.get("component_id") == SITE]
    ids, answers = _every_page(history, f"/log?component={SITE}", 3)
    assert ids == expected and len(expected) > 3
    assert {(a["total"], a["total_is_lower_bound"]) for a in answers} == {(len(expected), False)}
    changes = history.get(f"/changes?component={SITE}&page_size=2").get_json()
    assert (changes["total"], changes["total_is_lower_bound"]) == (3, False)


def test_the_change_list_pages_filters_and_totals(history, repo):
    """GET /changes: every page put together is every change request, newest first (created_at, then id),
    as filtered; the unfiltered total is every request's (the count store's)."""
    rows = repo.driver.execute_query("MATCH (c:ChangeRequest) RETURN c {.id, .created_at, .status, .requested_by} AS c")
    every = sorted((r["c"] for r in rows.records), key=lambda c: (c["created_at"], c["id"]), reverse=True)
    for path, expected in {
        "/changes": every,
        "/changes?status=queued": [c for c in every if c["status"] == "queued"],
        "/changes?requested_by=ted@strall.com": [c for c in every if c["requested_by"] == "ted@strall.com"],
    }.items():
        ids, answers = _every_page(history, path, 2)
        assert ids == [c["id"] for c in expected], path
        assert answers[0]["total"] == len(expected) and not answers[0]["total_is_lower_bound"], path
    assert len(every) == 6


def _operators(node):
    """(operator, details, rows) of every step of a profiled plan, depth first (rows: None under EXPLAIN)."""
    yield node["operatorType"].split("@")[0], node.get("args", {}).get("Details", ""), node.get("rows")
    for child in node.get("children", []):
        yield from _operators(child)


def _profiled(repo, name: str, **params) -> list[tuple]:
    from app.graph.cypher import query

    with repo.driver.session() as session:
        return list(_operators(session.run("PROFILE " + query(name), **params).consume().profile))


EVERY = ("NodeByLabelScan", "AllNodesScan", "Sort", "Top")  # every node of a label read, or all of them sorted
NO_CURSOR = {"after_at": None, "after_id": None}
LOG_FILTERS = {"requested_by": None, "actor": None, "status": None, "since": None, "until": None, **NO_CURSOR}
CHANGE_FILTERS = {"status": None, "requested_by": None, **NO_CURSOR}


def test_a_log_page_is_read_in_index_order_and_only_as_far_as_it_needs(history, repo):
    """The log's page 1 reads the audit_entry_timestamp index newest first and stops after its page (its
    total from the count store): no scan of every AuditEntry, no sort of them all. Filtered, it stops after
    the matches it counts ahead. The old query counted and sorted every entry on every page."""
    entries = len(_log(repo))
    page = _profiled(repo, "log_list", **LOG_FILTERS, skip=0, limit=5, counted=5)
    assert not [op for op, _, _ in page if op in EVERY], page
    assert any(op == "NodeCountFromCountStore" for op, _, _ in page), page
    seeks = [(details, rows) for op, details, rows in page if op.startswith("NodeIndexSeekByRange")]
    assert len(seeks) == 1 and "a:AuditEntry(timestamp)" in seeks[0][0], page
    assert seeks[0][1] <= 6 < entries, (seeks, entries)  # the page's 5 (and one the ordering looks at)
    up_to = counted_up_to(0, 2)
    filtered = _profiled(repo, "log_list", **{**LOG_FILTERS, "status": "unauthorized"}, skip=0, limit=2, counted=up_to)
    rows = [rows for op, _, rows in filtered if op.startswith("NodeIndexSeekByRange")]
    assert rows and rows[0] < entries - 10, (rows, entries)


def test_a_change_list_page_is_read_in_index_order(history, repo):
    """GET /changes reads the change_request_created_at index newest first, as far as its page."""
    page = _profiled(repo, "changes_list", **CHANGE_FILTERS, skip=0, limit=2, counted=2)
    assert not [op for op, _, _ in page if op in EVERY], page
    assert any(op == "NodeCountFromCountStore" for op, _, _ in page), page
    seeks = [(details, rows) for op, details, rows in page if op.startswith("NodeIndex")]
    assert len(seeks) == 1 and "cr:ChangeRequest(created_at)" in seeks[0][0] and seeks[0][1] <= 3, page


def test_a_components_log_starts_from_its_node(history, repo):
    """By component: the plan starts from the component's node (its id) and the indexes on the id, never
    from every entry or request (the change list's requests queued under the id were found by a scan of
    every ChangeRequest: the composite index on (component_id, status) was not used for the id alone)."""
    for name in ("log_list_component", "changes_list_component"):
        params = LOG_FILTERS if name.startswith("log") else CHANGE_FILTERS
        plan = _profiled(repo, name, component=SITE, **params, skip=0, limit=2)
        assert not [op for op, _, _ in plan if op in EVERY[:2]], (name, plan)  # its own entries sorted
        assert any("c:Component(id) WHERE id = $component" in details for _, details, _ in plan), (name, plan)


def test_a_page_of_either_list_is_one_round_trip(history):
    """Reading a page, its total and what is counted ahead of it is one read, filtered or not."""
    for path in ("/log", "/log?status=unauthorized", f"/log?component={SITE}", "/changes", "/changes?status=queued"):
        history.get(path)  # warm: the token, the connection
        with RoundTrips() as trips:
            assert history.get(path).status_code == 200
        assert trips.flushes == [["RUN", "PULL"]], (path, trips.flushes)


def test_a_page_past_the_last_says_the_exact_total(history):
    """A page past the end of a filtered list counted all there is: its total is exact (the console says
    "past the last page (N)" from it)."""
    answer = history.get("/log?status=unauthorized&page=40&page_size=5").get_json()
    assert answer["items"] == [] and answer["total_is_lower_bound"] is False
    assert answer["total"] == sum(1 for i in range(REFUSED) if i % 4)


CURSORED = ("/log", "/log?status=unauthorized", f"/log?component={SITE}", "/changes", "/changes?status=queued",
            f"/changes?component={SITE}")  # fmt: skip


def test_a_cursor_reads_the_pages_the_page_numbers_read(history):
    """`next_after` → `?after=`: page after page, the same entries in the same order as ?page=1, 2, …, and
    none after the last (`next_after` null); `karma log -q` reads every id this way."""
    for path in CURSORED:
        history.get(path)  # the reading identity's token made (and logged) first
        numbered, _ = _every_page(history, path, 2)
        joined = "&" if "?" in path else "?"
        ids, answer = [], history.get(f"{path}{joined}page_size=2").get_json()
        while True:
            ids += [item["id"] for item in answer["items"]]
            if not answer["next_after"]:
                break
            answer = history.get(f"{path}{joined}page_size=2&after={answer['next_after']}").get_json()
        assert ids == numbered and len(ids) > 2, path


def test_a_page_after_a_cursor_is_read_from_its_place(history, repo):
    """The page after a cursor starts at the cursor's place in the index: the rows read are the page's (and
    those counted ahead), however deep it is — ?page=N read every entry before it."""
    from app.paging import after

    log = history.get("/log?page_size=500").get_json()["items"]
    deep = history.get(f"/log?page_size={len(log) - 4}").get_json()
    at, entry_id = after(deep["next_after"])
    page = _profiled(
        repo, "log_list", **{**LOG_FILTERS, "after_at": at, "after_id": entry_id}, skip=0, limit=2, counted=2
    )
    rows = [rows for op, _, rows in page if op.startswith("NodeIndexSeekByRange")]
    assert rows and rows[0] <= 4 < len(log), (rows, len(log))
    changes = history.get("/changes?page_size=4").get_json()
    at, change_id = after(changes["next_after"])
    plan = _profiled(
        repo, "changes_list", **{**CHANGE_FILTERS, "after_at": at, "after_id": change_id}, skip=0, limit=1, counted=1
    )
    rows = [rows for op, _, rows in plan if op.startswith("NodeIndexSeekByRange")]
    assert rows and rows[0] <= 3, plan  # of 6 requests: the cursor's own and the two after it


def test_a_cursor_that_is_none_is_a_422_naming_it(history):
    for path in ("/log", "/changes"):
        for bad in ("nope", "12~", "~log-1", "-5~log-1", "123456789012345678~log-1", "1~log 1"):
            resp = history.get(f"{path}?after={bad}")
            assert resp.status_code == 422 and "query.after" in resp.get_json()["errors"], (path, bad)


people = console.people  # the console's people fixture: ted, eve, val, ada


def test_the_console_says_at_least_of_a_total_counted_only_so_far(app, history, people, monkeypatch):
    """The console's log (here 2 entries a page) says "at least" of a total counted only ten pages past the
    page, and of its pages, and still offers the next page."""
    from app.console import work

    monkeypatch.setattr(work, "PAGE_SIZE", 2)
    val = console._login(app, people["val"])
    page = val.get("/console/log?status=unauthorized").get_data(as_text=True)
    bound = counted_up_to(0, 2)
    assert f"at least {bound} entries · page 1 of at least {bound // 2}" in page, page
    assert "older →" in page
    exact = val.get("/console/log?status=forbidden").get_data(as_text=True)
    assert "at least" not in exact and "entries · page 1 of" in exact


def test_a_transition_list_page_is_read_in_index_order_and_by_component_from_its_node(world, repo):
    """GET /transitions counted every transition and sorted them all, and `?component=` looked for the
    component behind each one: a page is read in the transition_created_at index's order as far as it needs,
    its total the count store's, and by component from the component's node."""
    from app.graph.cypher import query

    with repo.driver.session() as session:
        page = list(_operators(session.run("EXPLAIN " + query("transitions_list"), **CHANGE_FILTERS, skip=0,
                                           limit=2, counted=2).consume().plan))  # fmt: skip
        mine = list(_operators(session.run("EXPLAIN " + query("transitions_list_component"), component=SITE,
                                           status=None, requested_by=None, skip=0, limit=2).consume().plan))  # fmt: skip
    assert not [op for op, _, _ in page if op in EVERY], page
    assert any(op == "NodeCountFromCountStore" for op, _, _ in page), page
    assert any("t:Transition(created_at)" in details for op, details, _ in page if op.startswith("NodeIndex")), page
    assert not [op for op, _, _ in mine if op in EVERY[:2]], mine
    assert any("Component(id) WHERE id = $component" in details for _, details, _ in mine), mine
