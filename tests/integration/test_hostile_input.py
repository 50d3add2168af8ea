"""Hostile input (issue 11, items 5–9): each is a clear 4xx JSON answer naming the field or cause, never
a 500, and the graph is left exactly as it was."""

from __future__ import annotations

import gzip
import http.client
import json
import zlib

import pytest
import requests

SERVICE = "ecs-service/karma-dev-ingest"
SITE = "serverless-site/karma-dev"
HUGE = 100000000000000000000  # beyond 64 bits


def doc(change: str, component: str = SERVICE, extra: str = "") -> str:
    """A request body as raw text (so it can hold what json.dumps would never write)."""
    return '{"component": "' + component + '", ' + extra + '"proposed_change": ' + change + "}"


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def assert_error(resp, status: int, cause: str | None = None) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.content_type.startswith("application/json")
    body = resp.get_json()
    assert body["code"] == status and body["message"] and "Traceback" not in json.dumps(body)
    if cause:
        assert body["cause"] == cause, body
    return body


@pytest.mark.parametrize(
    "path,method,template",
    [
        ("/plan", "POST", doc('{"desired_count": {x}}')),
        ("/request-change", "POST", doc('{"tags": {x}}')),
        (f"/components/{SERVICE}/runtime", "PUT", '{"runtime": {"service_arn": {x}}}'),
    ],
)
def test_deep_nesting_is_400_naming_the_limit(client, graph_dump, path, method, template):
    before = graph_dump()
    resp = client.open(path, method=method, data=template.replace("{x}", deep(5000)), content_type="application/json")
    body = assert_error(resp, 400, "too_deep")
    assert body["limit"] == 64 and "64" in body["message"]
    # brackets inside strings are data, not nesting
    ok = client.open(
        path, method=method, content_type="application/json", data=template.replace("{x}", json.dumps("[" * 5000))
    )
    assert ok.status_code in (200, 422), ok.get_json()
    assert ok.get_json().get("cause") != "too_deep"
    if path == "/plan":
        assert graph_dump() == before


def test_integers_beyond_64_bits_refused_alike_by_plan_and_apply(client, graph_dump):
    before = graph_dump()
    change = {"component": SERVICE, "proposed_change": {"desired_count": HUGE}}
    for path in ("/plan", "/request-change"):
        body = assert_error(client.post(path, json=change), 422)
        assert "proposed_change.desired_count" in body["errors"], body
    as_text = {"component": "route53-zone/karma-dev", "proposed_change": {"root_records": {"n": str(HUGE)}}}
    assert client.post("/plan", json=as_text).status_code == 200  # as a string it is fine
    anywhere = {
        "component": "route53-zone/karma-dev",
        "proposed_change": {"root_records": {"www": [{"ttl": 1}, {"ttl": -HUGE}]}},
    }
    for path in ("/plan", "/request-change"):
        body = assert_error(client.post(path, json=anywhere), 422)
        assert "proposed_change.root_records.www[1].ttl" in body["errors"], body
    body = assert_error(
        client.post(
            "/request-change", json={**change, "proposed_change": {"desired_count": 3}, "expected_version": HUGE}
        ),
        422,
    )
    assert "expected_version" in body["errors"]
    body = assert_error(
        client.put(f"/components/{SERVICE}/runtime", json={"runtime": {"service_arn": "arn:x", "running_count": HUGE}}),
        422,
    )
    assert any(k.startswith("runtime.running_count") for k in body["errors"]), body
    assert graph_dump() == before


@pytest.mark.parametrize(
    "path",
    [
        "/components?page=1000000000000000000000",
        "/log?page=1000000000000000000000",
        "/components?page=99999999999999999999999999999999999999&page_size=500",
        "/log?component=vpc/karma-dev&page=999999999&page_size=238",  # a slice past int32 was a 500
        "/changes?component=vpc/karma-dev&page=4000001&page_size=500",
        "/log?since=2024-01-01T00:00:00%2B18:01",
        "/log?until=2024-01-01T00:00:00-23:59",
        "/log?since=not-a-time",
        "/log?until=9999-12-31T23:59:59-18:00",  # year 10000 in UTC: the driver raised, a 500
        "/log?since=0001-01-01T00:00:00%2B18:00",  # year 0 in UTC
    ],
)
def test_huge_pages_and_impossible_time_zones_are_422(client, graph_dump, path):
    before = graph_dump()
    body = assert_error(client.get(path), 422)
    assert body["errors"], body
    assert client.get("/log?since=2024-01-01T00:00:00%2B18:00").status_code == 200  # the edge is fine
    assert client.get("/log?until=9999-12-31T23:59:59Z&since=0001-01-01T00:00:00-18:00").status_code == 200
    assert graph_dump() == before


@pytest.mark.parametrize(
    "content_type,data",
    [
        ("text/plain", json.dumps({"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}})),
        ("application/x-www-form-urlencoded", "component=serverless-site/karma-dev"),
        (None, json.dumps({"component": SITE, "proposed_change": {"cloudfront_aliases": ["a.usekarma.dev"]}})),
    ],
)
def test_wrong_content_type_is_415(client, graph_dump, content_type, data):
    before = graph_dump()
    for path in ("/plan", "/request-change"):
        kwargs = {"content_type": content_type} if content_type else {}
        body = assert_error(client.post(path, data=data, **kwargs), 415, "content_type")
        assert "application/json" in body["message"]
    assert graph_dump() == before


@pytest.mark.parametrize(
    "coding,compress",
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("gzip", bytes), ("br, gzip", bytes), ("bogus", bytes)],
)
def test_compressed_bodies_are_415_naming_the_coding(client, graph_dump, coding, compress):
    """Karma decodes no Content-Encoding: a gzip body was a 400 about byte 0x8b in UTF-8, and a plain
    body labelled gzip (or anything) was applied as if the header were not there."""
    before = graph_dump()
    data = compress(
        json.dumps({"component": SITE, "proposed_change": {"cloudfront_aliases": ["z.usekarma.dev"]}}).encode()
    )
    for path in ("/plan", "/request-change"):
        resp = client.post(path, data=data, content_type="application/json", headers={"Content-Encoding": coding})
        body = assert_error(resp, 415, "content_encoding")
        assert body["content_encoding"] == coding and "identity" in body["message"], body
    assert graph_dump() == before
    plain = client.post("/plan", data=data, content_type="application/json", headers={"Content-Encoding": "identity"})
    assert plain.status_code == (200 if compress is bytes else 400), plain.get_json()


def test_405_names_the_allowed_methods(client):
    resp = client.delete("/components")
    body = assert_error(resp, 405)
    assert body["error"] == "method_not_allowed" and body["cause"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]
    assert body["message"] == "DELETE is not allowed on /components: it answers GET", body  # was werkzeug's sentence
    resp = client.get("/request-change")
    assert resp.status_code == 405 and "POST" in resp.headers["Allow"]
    assert resp.get_json()["message"] == "GET is not allowed on /request-change: it answers POST"


def test_huge_and_non_finite_numbers_are_400(client, graph_dump):
    before = graph_dump()
    for number in ("1e400", "-1e999", "NaN", "-Infinity"):
        body = doc('{"desired_count": ' + number + "}")
        assert_error(client.post("/request-change", data=body, content_type="application/json"), 400, "invalid_json")
    assert graph_dump() == before


def test_bodies_not_in_utf8_are_400_invalid_json(client, graph_dump):
    """JSON travels as UTF-8 without a byte order mark (RFC 8259). A BOM or UTF-16 passed the strict
    parse (json.loads detects both in bytes) and the view's parser refused it as a bare 400 that named
    no cause."""
    before = graph_dump()
    text = doc('{"desired_count": 2}')
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16"), text.encode("utf-32")):
        body = assert_error(client.post("/request-change", data=data, content_type="application/json"), 400)
        assert body["cause"] == "invalid_json", body
    assert graph_dump() == before


# -- through gunicorn: bodies framed with Transfer-Encoding: chunked (no Content-Length) -----------------
def chunks(text: str):
    data = text.encode()
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


@pytest.mark.parametrize(
    "body,cause",
    [
        (doc('{"desired_count": 2}', extra='"component": "vpc/karma-dev", '), "invalid_json"),
        (doc('{"desired_count": NaN}'), "invalid_json"),
        (doc('{"tags": {"a": Infinity}}'), "invalid_json"),
        (doc('{"tags": ' + deep(3000) + "}"), "too_deep"),
    ],
)
def test_chunked_bodies_are_parsed_as_strictly(gunicorn_url, auth_headers, graph_dump, body, cause):
    before = graph_dump()
    headers = {**auth_headers, "Content-Type": "application/json"}
    resp = requests.post(f"{gunicorn_url}/request-change", data=chunks(body), headers=headers, timeout=30)
    assert resp.request.headers.get("Transfer-Encoding") == "chunked"
    assert resp.status_code == 400, resp.text[:300]
    assert resp.json()["cause"] == cause
    assert graph_dump() == before


def test_a_good_chunked_body_is_accepted(gunicorn_url, auth_headers, graph_dump):
    before = graph_dump()
    body = json.dumps({"component": SERVICE, "proposed_change": {"desired_count": 3}})
    resp = requests.post(
        f"{gunicorn_url}/plan",
        data=chunks(body),
        headers={**auth_headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 200 and resp.json()["status"] == "planned", resp.text[:300]
    too_big = doc('{"tags": {"a": "' + "x" * 300_000 + '"}}')
    resp = requests.post(
        f"{gunicorn_url}/plan",
        data=chunks(too_big),
        headers={**auth_headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert resp.status_code == 413 and resp.json()["code"] == 413
    assert graph_dump() == before


@pytest.mark.parametrize(
    "path,method,data,field",
    [
        ("/request-change", "POST", doc('{"tags": {"owner": "x\\ud800"}}'), "proposed_change.tags.owner"),
        ("/request-change", "POST", doc('{"tags": {"\\udfffkey": "v"}}'), "proposed_change.tags.?key"),
        ("/request-change", "POST", doc('{"desired_count": 2}', extra='"reason": "\\ud800", '), "reason"),
        ("/plan", "POST", doc('{"tags": {"a": ["ok", "\\udc00"]}}'), "proposed_change.tags.a[1]"),
        (f"/components/{SERVICE}/runtime", "PUT", '{"runtime": {"service_arn": "\\ud800"}}', "runtime.service_arn"),
    ],
)
def test_lone_surrogates_are_400_naming_the_field(client, graph_dump, path, method, data, field):
    """The driver cannot encode a lone surrogate: it was a 500 once it reached a write."""
    before = graph_dump()
    body = assert_error(client.open(path, method=method, data=data, content_type="application/json"), 400)
    assert body["cause"] == "invalid_unicode" and field in body["errors"], body
    assert graph_dump() == before
    pair = data.replace("\\ud800", "\\ud83d\\ude00").replace("\\udfff", "\\ud83d\\ude00").replace("\\udc00", "ok")
    assert client.open(path, method=method, data=pair, content_type="application/json").status_code != 500


# -- through gunicorn: a path with an empty segment ------------------------------------------------------
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/components//x"),  # the router answered a 308 to /components/x, with an HTML body
        ("GET", f"/components//{SITE}"),
        ("GET", "//components"),  # served as /components
        ("POST", "//request-change"),  # a write served at a path the client did not write
        ("PUT", f"/components/{SERVICE.replace('/', '//')}/runtime"),  # a 308: the write re-sent elsewhere
    ],
)
def test_a_path_with_an_empty_segment_is_a_json_404_naming_it(gunicorn_url, auth_headers, graph_dump, method, path):
    before = graph_dump()
    change = {"component": SITE, "proposed_change": {"cloudfront_aliases": ["x.usekarma.dev"]}}
    body = {"runtime": {"service_arn": "arn:x"}} if method == "PUT" else change  # each a write that would go
    resp = requests.request(
        method, gunicorn_url + path, json=body, headers=auth_headers, allow_redirects=False, timeout=30
    )
    assert resp.status_code == 404 and "Location" not in resp.headers, (resp.status_code, resp.text[:300])
    assert resp.headers["Content-Type"].startswith("application/json")
    said = resp.json()
    assert said["error"] == "not_found" and said["cause"] == "empty_path_segment" and said["path"] == path, said
    assert path in said["message"]
    assert graph_dump() == before


# -- through gunicorn: the redirects outside the console -------------------------------------------------
@pytest.mark.parametrize(
    "path,code,location",
    [
        ("/console", 308, "/console/"),  # the router's slash redirect: an HTML page ("Redirecting..."),
        ("/console?next=/console/log", 308, "/console/?next=/console/log"),  # to http://<Host>/console/
        ("/", 302, "/console/"),  # the front door: an HTML page too
    ],
)
def test_a_redirect_outside_the_console_says_where_in_json(gunicorn_url, path, code, location):
    """A client that does not follow redirects reads JSON, as from every other answer outside the console;
    a browser follows Location, a path (an absolute URL built from Host said `http://` behind a proxy
    that ends TLS), and a HEAD gets the same head without a body."""
    resp = requests.get(gunicorn_url + path, allow_redirects=False, timeout=30)
    assert resp.status_code == code and resp.headers["Location"] == location, (resp.status_code, resp.headers)
    assert resp.headers["Content-Type"].startswith("application/json"), resp.text[:200]
    said = resp.json()
    assert said["code"] == code and said["location"] == location and said["message"], said
    head = requests.head(gunicorn_url + path, allow_redirects=False, timeout=30)
    assert (head.status_code, head.headers["Location"], head.content) == (code, location, b"")
    followed = requests.get(gunicorn_url + path, timeout=30)  # a browser's way: it lands on the console
    assert followed.status_code == 200 and followed.url.startswith(gunicorn_url + "/console/login")


# -- through gunicorn: the Idempotency-Key header sent twice ---------------------------------------------
def post_with_keys(url: str, auth_headers: dict, body: dict, keys: list[str]) -> tuple[int, dict]:
    """POST /request-change with one Idempotency-Key header per key (requests sends a header once)."""
    host, port = url.rsplit("/", 1)[-1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("POST", "/request-change")
        data = json.dumps(body).encode()
        for name, value in {**auth_headers, "Content-Type": "application/json", "Content-Length": len(data)}.items():
            conn.putheader(name, str(value))
        for key in keys:
            conn.putheader("Idempotency-Key", key)
        conn.endheaders(data)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_two_different_idempotency_keys_are_refused_naming_the_header(gunicorn_url, auth_headers, graph_dump):
    """gunicorn joins a header sent twice with a comma: the two keys were used as one key ("k-1,k-2") in
    silence, so a retry with either key alone applied the change again. Two different keys are a 422
    naming the header and change nothing; the same key twice is that key."""
    before = graph_dump()
    change = {"component": SERVICE, "proposed_change": {"desired_count": 5}}
    for keys in (["k-1", "k-2"], ["k-1,k-2"]):
        status, body = post_with_keys(gunicorn_url, auth_headers, change, keys)
        assert status == 422, (status, body)
        assert body["cause"] == "invalid_idempotency_key" and "Idempotency-Key" in body["errors"], body
        assert "more than one key" in body["message"], body
    assert graph_dump() == before
    status, first = post_with_keys(gunicorn_url, auth_headers, change, ["k-3", "k-3"])
    assert status == 200 and first["status"] == "applied", (status, first)
    status, again = post_with_keys(gunicorn_url, auth_headers, change, ["k-3"])
    assert status == 200 and again["idempotent_replay"] and again["change_id"] == first["change_id"], again


@pytest.mark.parametrize("size", [300_000, 2_000_000])
def test_a_refused_request_with_a_body_over_the_limit_gets_its_refusal(gunicorn_url, size):
    """A refusal's audit entry names the component the body names, so the handler read the body: over
    KARMA_MAX_BODY_BYTES that read raised its 413 inside the handler, and the answer was a bare 500. (The
    refusal itself is audited, as every refusal is.)"""
    data = b'{"component": "' + b"x" * size + b'"}'
    resp = requests.post(f"{gunicorn_url}/plan", data=data, headers={"Content-Type": "application/json"}, timeout=30)
    assert resp.status_code == 401, (resp.status_code, resp.text[:300])
    assert resp.json()["cause"] == "missing_token", resp.json()
