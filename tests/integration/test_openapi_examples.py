"""/docs "Try it out" prefills each request body from its example: every body has one, and the change
examples are accepted by the seeded karma world as they stand (no `"component": "string"` 422)."""

from __future__ import annotations


def _bodies(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            body = (op.get("requestBody") or {}).get("content", {}).get("application/json")
            if body is not None:
                yield f"{method.upper()} {path}", body


def test_every_request_body_has_an_example(client):
    spec = client.get("/openapi.json", anonymous=True).get_json()
    bodies = dict(_bodies(spec))
    assert len(bodies) >= 8
    assert [name for name, body in bodies.items() if "example" not in body and "examples" not in body] == []


def test_the_change_examples_are_valid_against_the_seeded_world(client):
    spec = client.get("/openapi.json", anonymous=True).get_json()
    bodies = dict(_bodies(spec))
    for name in ("POST /plan", "POST /request-change", "POST /transitions"):
        method, path = name.split(" ")
        answer = client.post(path, json=bodies[name]["example"])
        assert answer.status_code == 200, (name, answer.get_json())
    assert client.get("/", anonymous=True).headers["Location"].endswith("/console/")  # / is the console
