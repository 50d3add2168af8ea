"""Rate limits (per token, per source, shared by gunicorn's workers) and bounded refusal auditing
(issue 11, item 11)."""

from __future__ import annotations


import requests

from tests.integration.servers import gunicorn


def security_entries(repo) -> list[dict]:
    rows = repo.driver.execute_query("MATCH (a:AuditEntry {kind: 'security'}) RETURN properties(a) AS p").records
    return [r["p"] for r in rows]


def test_per_token_limit_is_429_with_retry_after(make_app):
    app = make_app(rate_per_token=0.5, burst_per_token=3)
    client = app.test_client()
    codes = [client.get("/components").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    resp = client.get("/components")
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    body = resp.get_json()
    assert body["cause"] == "rate_limited" and body["limit"] == "token" and body["code"] == 429
    other = {"Authorization": f"Bearer {client.token_for('other@usekarma.dev', 'viewer')}"}
    assert client.get("/components", headers=other).status_code == 200  # another token has its own budget
    assert client.get("/healthz").status_code == 200  # health is never limited


def test_per_source_limit_applies_before_authentication(make_app, world):
    app = make_app(rate_per_source=0.5, burst_per_source=4)
    client = app.test_client()
    codes = [client.get("/components", anonymous=True).status_code for _ in range(7)]
    assert codes == [401] * 4 + [429] * 3
    assert len(security_entries(world)) == 4  # a limited flood writes nothing more


def test_console_pages_are_limited_with_retry_after(make_app, world):
    """The console's pages share the per-address limit; their 429 page says when to come back, like the
    API's (the page handler used to drop Retry-After)."""
    app = make_app(rate_per_source=0.5, burst_per_source=2)
    client = app.test_client()
    answers = [client.get("/console/log", anonymous=True) for _ in range(3)]
    assert [a.status_code for a in answers] == [302, 302, 429]
    refused = answers[-1]
    assert refused.content_type.startswith("text/html") and int(refused.headers["Retry-After"]) >= 1
    assert "rate limit per source exceeded" in refused.get_data(as_text=True)


def test_a_refusal_flood_is_audited_boundedly(make_app, world):
    app = make_app(refusal_burst=3)
    client = app.test_client()
    for _ in range(40):
        assert client.get("/components", anonymous=True).status_code == 401
    entries = security_entries(world)
    assert len(entries) == 3 and all(e["source"] == "127.0.0.1" for e in entries)
    # another cause is a separate stream: not drowned by the flood
    viewer = {"Authorization": f"Bearer {client.token_for('viewer@usekarma.dev', 'viewer')}"}
    assert client.post("/queue/process", headers=viewer).status_code == 403
    assert len(security_entries(world)) == 4
    app.extensions["karma"].refusal_audit.flush()  # the window's aggregate (also written at exit)
    entries = security_entries(world)
    aggregate = [e for e in entries if e.get("repeated")]
    assert len(entries) == 5 and len(aggregate) == 1 and aggregate[0]["repeated"] == 37
    assert aggregate[0]["cause"] == "missing_token" and "aggregated" in aggregate[0]["note"]


def test_limits_are_shared_by_all_gunicorn_workers(service_env, world, auth_headers):
    env = {**service_env, "KARMA_RATE_PER_TOKEN": "0.1", "KARMA_BURST_PER_TOKEN": "10"}
    server = gunicorn(env, workers=3)
    url = server.url
    try:
        server.wait_ready(90)
        codes = []
        for _ in range(30):  # a new connection each time: spread over the workers
            with requests.Session() as s:
                codes.append(s.get(f"{url}/components", headers=auth_headers, timeout=30).status_code)
        assert set(codes) <= {200, 429}
        # per-process budgets would allow 3 × 10; one shared budget allows 10 (+ 0.1/s refill)
        assert 10 <= codes.count(200) <= 12, codes
    finally:
        server.stop()


def test_a_known_token_is_not_starved_by_a_flood_from_its_address(make_app, world):
    """Per-token budgets come first for authenticated calls: an anonymous flood from the same address
    (or behind the same proxy) exhausts the address's budget, not the legitimate caller's."""
    app = make_app(rate_per_source=0.5, burst_per_source=4)
    client = app.test_client()
    assert client.get("/components").status_code == 200  # the token, verified once
    flood = [client.get("/components", anonymous=True).status_code for _ in range(8)]
    assert flood[-1] == 429, flood  # the address's budget is gone…
    codes = [client.get("/components").status_code for _ in range(6)]
    assert codes == [200] * 6, codes  # …the token's is not
    stranger = {"Authorization": "Bearer karma_not-a-real-token"}
    assert client.get("/components", headers=stranger).status_code == 429  # an unknown token pays per address


def test_trusted_proxies_name_the_client_from_x_forwarded_for(make_app, world):
    app = make_app(rate_per_source=0.5, burst_per_source=2, trusted_proxies=("127.0.0.0/8",))
    client = app.test_client()

    def anonymous(forwarded: str) -> int:
        return client.get("/components", anonymous=True, headers={"X-Forwarded-For": forwarded}).status_code

    assert [anonymous("203.0.113.7") for _ in range(3)] == [401, 401, 429]  # one client's budget…
    assert anonymous("203.0.113.8") == 401  # …and another client behind the same proxy has its own
    assert anonymous("198.51.100.1, 203.0.113.7") == 429  # what the client itself wrote on the left is not trusted
    entries = security_entries(world)
    assert {e["source"] for e in entries} == {"203.0.113.7", "203.0.113.8"}, entries


def test_untrusted_peers_cannot_choose_their_address(make_app, world):
    app = make_app(rate_per_source=0.5, burst_per_source=2)  # no trusted proxies: the header is ignored
    client = app.test_client()
    codes = [
        client.get("/components", anonymous=True, headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [401, 401, 429]
